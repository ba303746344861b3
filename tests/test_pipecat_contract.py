"""What pipelines/pipecat_internals relies on still exists in the installed Pipecat.

One row per private name. A failure names the module of ours that needs another look; it means an
upgrade changed something we lean on, not that our code is wrong.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import aioice.ice
import httpx._transports.default as httpx_default
import pytest
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.pipeline.worker import PipelineWorker
from pipecat.pipeline.worker_observer import WorkerObserver
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketTransport,
)

import pipelines.pipecat_internals as internals
from pipelines.pipecat_internals.resilient_stt import ReconnectingDeepgramSTT

# (our module, Pipecat class, private name, "method" or "attribute")
CONTRACT = [
    ("call_worker", PipelineWorker, "_observer", "attribute"),
    ("call_worker", WorkerObserver, "_observers", "attribute"),
    ("call_worker", WorkerObserver, "_proxies", "attribute"),
    ("twilio_transport", FastAPIWebsocketOutputTransport, "_write_audio_sleep", "method"),
    ("twilio_transport", FastAPIWebsocketOutputTransport, "_next_send_time", "attribute"),
    ("twilio_transport", FastAPIWebsocketTransport, "_output", "attribute"),
    ("twilio_transport", FastAPIWebsocketTransport, "_client", "attribute"),
    ("twilio_transport", FastAPIWebsocketTransport, "_params", "attribute"),
    ("twilio_transport", FastAPIWebsocketTransport, "_output_name", "attribute"),
    ("shared_models", SileroOnnxModel, "session", "attribute"),
    ("shared_models", SileroOnnxModel, "sample_rates", "attribute"),
    ("shared_models", SileroOnnxModel, "reset_states", "method"),
    ("shared_models", SileroVADAnalyzer, "_run_analyzer", "method"),
    ("shared_models", SileroVADAnalyzer, "_vad_state", "attribute"),
    ("shared_models", SileroVADAnalyzer, "_vad_stopping_count", "attribute"),
    ("shared_models", SileroVADAnalyzer, "_maybe_reset_model", "method"),
    ("shared_models", LocalSmartTurnAnalyzerV3, "_session", "attribute"),
    ("shared_models", LocalSmartTurnAnalyzerV3, "_log_data", "attribute"),
    ("shared_models", LocalSmartTurnAnalyzerV3, "_model_executor", "attribute"),
    ("speculative_turn", BaseSmartTurn, "_audio_buffer", "attribute"),
    ("speculative_turn", BaseSmartTurn, "_speech_triggered", "attribute"),
    ("speculative_turn", BaseSmartTurn, "_process_speech_segment", "method"),
    ("speculative_turn", BaseSmartTurn, "_clear", "method"),
    ("phrase_cache", TTSService, "_handle_tts_speak", "method"),
    ("phrase_cache", CartesiaTTSService, "on_audio_context_interrupted", "method"),
    *(
        ("resilient_stt", DeepgramSTTService, name, "method")
        for name in (
            "_connection_handler",
            "_on_message",
            "_on_error",
            "_keepalive_handler",
            "_build_connect_kwargs",
            "_connect",
            "_disconnect",
            "run_stt",
            "request_finalize",
        )
    ),
    *(
        ("resilient_stt", DeepgramSTTService, name, "attribute")
        for name in ("_client", "_connection", "_connection_settled", "_connection_task")
    ),
]


def _defined(cls: type, name: str, kind: str) -> bool:
    """A method on the class, or an attribute its code assigns (`self.<name> =`)."""
    if kind == "method":
        return callable(getattr(cls, name, None))
    sources = []
    for klass in cls.__mro__:
        try:
            sources.append(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
    return any(f"self.{name} =" in s or f"self.{name}:" in s for s in sources) or hasattr(cls, name)


@pytest.mark.parametrize(
    ("module", "cls", "name", "kind"),
    CONTRACT,
    ids=[f"{m}:{c.__name__}.{n}" for m, c, n, _ in CONTRACT],
)
def test_private_name_still_exists(module: str, cls: type, name: str, kind: str) -> None:
    assert _defined(cls, name, kind), (
        f"pipelines/pipecat_internals/{module}.py relies on {cls.__name__}.{name}, which this "
        f"Pipecat no longer defines"
    )


def test_the_deepgram_handler_replaced_is_still_the_one_connect_starts() -> None:
    assert "self._connection_handler()" in inspect.getsource(DeepgramSTTService._connect)
    assert ReconnectingDeepgramSTT._connection_handler is not DeepgramSTTService._connection_handler


def test_patched_library_functions_still_exist() -> None:
    params = inspect.signature(httpx_default.create_ssl_context).parameters
    assert {"verify", "cert", "trust_env"} <= set(params), "pipecat_internals/tls.py"
    assert list(inspect.signature(aioice.ice.get_host_addresses).parameters) == [
        "use_ipv4",
        "use_ipv6",
    ], "pipecat_internals/aioice_loopback.py"


def test_the_package_is_pinned_to_the_installed_pipecat() -> None:
    assert version("pipecat-ai").startswith(internals.SUPPORTED)
