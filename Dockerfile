# Receptionist server image: locked install with uv, non-root, nothing downloaded at start-up.
# Silero VAD and the smart-turn v3 model ship inside the pipecat-ai wheel, so the first call
# needs no model download.
FROM python:3.11-slim-bookworm AS base

COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PYTHONUNBUFFERED=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

COPY bot ./bot
COPY pipelines ./pipelines
COPY tools ./tools
COPY server.py ./

# Import Pipecat once at build time: compiles bytecode and proves the bundled models are present.
RUN uv run --no-sync python -c "import pipelines.twilio_call, pipecat.audio.vad.silero"

RUN useradd --create-home --uid 10001 receptionist \
    && mkdir -p /data && chown receptionist /data
USER receptionist

# The test page and the API docs stay off in the image, whatever the code's defaults become.
ENV DATA_DIR=/data HOST=0.0.0.0 PORT=7860 TEST_PAGE_ENABLED=false API_DOCS_ENABLED=false
EXPOSE 7860
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/health')"
# `uv run` passes SIGTERM on to the server, which drains live calls before it exits (bot/drain.py).
CMD ["uv", "run", "--no-sync", "python", "server.py"]
