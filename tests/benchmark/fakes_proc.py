"""The provider fakes in their own process, recording every latency they inject.

The benchmark runs the fakes here so that their CPU is neither counted as the server's nor taken
from the load generator's event loop. Protocol on stdin/stdout, one line each:

- at start-up the process prints one JSON line: the environment for the server (``fakes.env()``);
- ``dump PATH`` writes the injected-latency records as JSON to PATH and prints ``ok``;
- ``quit`` (or end of input) stops the fakes and exits.

Injected latencies are drawn here (``base + uniform(0, jitter)``) instead of inside the fakes, so
each draw can be tied to the call it delayed: STT draws by the stream's ``tag`` (the CallSid),
LLM draws by the caller ID in the request's developer message and the number of user messages,
TTS draws by the text being synthesized.

Run: ``python -m tests.benchmark.fakes_proc --stt 0.125 0.05 --llm 0.3 0.1 --tts 0.08 0.04``
"""

from __future__ import annotations

import argparse
import contextvars
import gc
import json
import random
import re
import sys
from typing import Any

from tests.fakes._base import now
from tests.fakes.cartesia import FakeCartesia
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.openai import FakeOpenAI, Text
from tests.fakes.world import ProviderFakes

CALLER_ID = re.compile(r"Caller ID for this call: (\+\d+)")
SCRIPT = [
    "Can you book me in for tomorrow morning?",
    "My name is John Smith.",
    "Can you send someone to fix a leaking kitchen sink tomorrow morning?",
    "Actually never mind, thanks.",
] * 8

_OPENAI_BODY: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "openai_body", default=None
)
_TTS_TEXT: contextvars.ContextVar[str | None] = contextvars.ContextVar("tts_text", default=None)


class Draw:
    """A latency knob: ``base + uniform(0, jitter)`` seconds, every draw recorded."""

    def __init__(self, base: float, jitter: float) -> None:
        self.base, self.jitter = base, jitter

    def __call__(self) -> float:
        return self.base + (random.uniform(0.0, self.jitter) if self.jitter else 0.0)


def caller_of(body: dict[str, Any]) -> str | None:
    """The caller ID the server wrote into the first developer message."""
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            found = CALLER_ID.search(content)
            if found:
                return found.group(1)
    return None


def user_turns(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages", []) if m.get("role") == "user")


def reply_text(body: dict[str, Any]) -> Text:
    """One sentence (one TTS request), tagged with the caller and turn so draws can be matched."""
    caller = (caller_of(body) or "+0")[-4:]
    return Text(f"Sure, I can help you with that, reference {caller} {user_turns(body)}.")


class BenchDeepgram(FakeDeepgram):
    draw = Draw(0.0, 0.0)

    def _set_defaults(self) -> None:
        super()._set_defaults()
        self.records: list[dict[str, Any]] = getattr(self, "records", [])
        self._current_tag: str | None = None

    @property
    def latency_s(self) -> float:  # read once per Finalize, synchronously in _on_finalize
        delay = self.draw()
        self.records.append({"t": now(), "tag": self._current_tag, "delay": delay})
        return delay

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        pass

    def _on_finalize(self, stream: Any) -> None:
        self._current_tag = stream.tag
        super()._on_finalize(stream)


class BenchOpenAI(FakeOpenAI):
    draw = Draw(0.0, 0.0)

    def _set_defaults(self) -> None:
        super()._set_defaults()
        self.records: list[dict[str, Any]] = getattr(self, "records", [])

    @property
    def first_token_latency_s(self) -> float:
        delay = self.draw()
        body = _OPENAI_BODY.get() or {}
        self.records.append(
            {"t": now(), "caller": caller_of(body), "turn": user_turns(body), "delay": delay}
        )
        return delay

    @first_token_latency_s.setter
    def first_token_latency_s(self, value: float) -> None:
        pass

    async def _stream(self, request, body, chunks, model):  # type: ignore[no-untyped-def]
        _OPENAI_BODY.set(body)
        return await super()._stream(request, body, chunks, model)


class BenchCartesia(FakeCartesia):
    draw = Draw(0.0, 0.0)

    def _set_defaults(self) -> None:
        super()._set_defaults()
        self.records: list[dict[str, Any]] = getattr(self, "records", [])

    @property
    def first_audio_latency_s(self) -> float:
        delay = self.draw()
        self.records.append({"t": now(), "text": _TTS_TEXT.get(), "delay": delay})
        return delay

    @first_audio_latency_s.setter
    def first_audio_latency_s(self, value: float) -> None:
        pass

    async def _synthesize(self, ws, conn, job):  # type: ignore[no-untyped-def]
        _TTS_TEXT.set(job.text)
        return await super()._synthesize(ws, conn, job)


class BenchFakes(ProviderFakes):
    def __init__(self, stt: Draw, llm: Draw, tts: Draw) -> None:
        super().__init__()
        self.deepgram = BenchDeepgram()
        self.openai = BenchOpenAI()
        self.cartesia = BenchCartesia()
        self.deepgram.draw, self.openai.draw, self.cartesia.draw = stt, llm, tts
        self.deepgram.default_script = list(SCRIPT)
        self.openai.responder = reply_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("stt", "llm", "tts"):
        parser.add_argument(
            f"--{name}", nargs=2, type=float, default=[0.0, 0.0], metavar=("BASE", "JITTER")
        )
    args = parser.parse_args()
    fakes = BenchFakes(Draw(*args.stt), Draw(*args.llm), Draw(*args.tts))
    with fakes:
        # The fakes live for one level: no collector pauses in the providers' answers.
        gc.collect()
        gc.freeze()
        gc.disable()
        print(json.dumps(fakes.env()), flush=True)
        for line in sys.stdin:
            command, _, rest = line.strip().partition(" ")
            if command == "dump":

                async def snapshot() -> dict[str, Any]:
                    return {
                        "stt": list(fakes.deepgram.records),
                        "llm": list(fakes.openai.records),
                        "tts": list(fakes.cartesia.records),
                        "stt_connections": len(fakes.deepgram.connections),
                    }

                with open(rest, "w") as out:
                    json.dump(fakes.call(snapshot()), out)
                print("ok", flush=True)
            elif command == "quit":
                break


if __name__ == "__main__":
    main()
