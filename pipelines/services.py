"""Speech and language services for one call, built from settings.

Every endpoint comes from settings, so the same code reaches the real providers, a compatible
self-hosted service, or the tests' loopback fakes.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.transcriptions.language import Language

from bot.config import Settings
from pipelines.pipecat_internals.phrase_cache import PhraseCachingCartesiaTTS
from pipelines.pipecat_internals.resilient_stt import ReconnectingDeepgramSTT


def make_stt(settings: Settings, *, call_id: str) -> ReconnectingDeepgramSTT:
    """Deepgram live transcription; the call id is sent as Deepgram's billing tag.

    A dropped socket is reopened at once with the caller's audio replayed; set `on_unavailable`
    on the result to learn that it stayed down for `STT_RECONNECT_SECS`.
    """
    assert settings.deepgram_api_key is not None
    return ReconnectingDeepgramSTT(
        give_up_secs=settings.stt_reconnect_secs,
        api_key=settings.deepgram_api_key.get_secret_value(),
        base_url=settings.deepgram_base_url,
        tag=call_id,
        settings=DeepgramSTTService.Settings(
            model=settings.deepgram_model,
            language=Language.EN,
            interim_results=True,
            smart_format=True,
        ),
    )


class SharedClientOpenAILLMService(OpenAILLMService):
    """The OpenAI service with one HTTP client per process (per event loop), not one per call.

    Pipecat builds an `AsyncOpenAI` per service and never closes it: a connection pool and a TLS
    handshake per call, and sockets left open. `create_client` is Pipecat's hook for choosing the
    client; the one returned here is shared by every call on this event loop, and its pool keeps
    connections to the model warm between calls.
    """

    _clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, Any], Any]] = (
        weakref.WeakKeyDictionary()
    )

    def create_client(self, api_key=None, base_url=None, **kwargs):  # type: ignore[no-untyped-def]
        """The OpenAI client shared by every call on this event loop (a new one outside a loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # built outside a loop: nothing to share with
            return super().create_client(api_key=api_key, base_url=base_url, **kwargs)
        clients = self._clients.setdefault(loop, {})
        client = clients.get((api_key, base_url))
        if client is None or client.is_closed():
            client = super().create_client(api_key=api_key, base_url=base_url, **kwargs)
            clients[(api_key, base_url)] = client
        return client


def make_llm(settings: Settings, *, system_prompt: str) -> OpenAILLMService:
    """OpenAI Chat Completions (or any compatible server at OPENAI_BASE_URL)."""
    assert settings.openai_api_key is not None
    return SharedClientOpenAILLMService(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        settings=OpenAILLMService.Settings(
            model=settings.openai_model,
            system_instruction=system_prompt,
            temperature=0.3,
        ),
        # A tool stuck for this long is cancelled and the model answers without it.
        function_call_timeout_secs=15.0,
    )


def make_tts(settings: Settings) -> CartesiaTTSService:
    """Cartesia over its WebSocket; word timestamps keep the context to what was heard."""
    assert settings.cartesia_api_key is not None
    return PhraseCachingCartesiaTTS(  # fixed phrases (greeting, goodbyes) replayed from memory
        api_key=settings.cartesia_api_key.get_secret_value(),
        url=settings.cartesia_ws_url,
        settings=CartesiaTTSService.Settings(
            model=settings.cartesia_model,
            voice=settings.cartesia_voice_id,
            language=Language.EN,
        ),
    )
