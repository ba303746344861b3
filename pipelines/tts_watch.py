"""Notices a TTS that has stopped producing audio, so the call can fail over instead of going quiet.

Invariant: once the TTS has been asked to speak (a `TTSSpeakFrame`, or LLM text up to a sentence
end or the end of the reply), audio must leave it within `stall_secs`, or `on_failure` is awaited
(once per call); the same happens after `max_errors` errors from the TTS with no audio between
them, or at once when Pipecat marks the TTS unusable (the pipeline is then cancelled, and this
makes sure the caller is still redirected and the owner told). Audio out of the TTS or an interruption (the request was cancelled) stops the clock.

Pipecat's TTS errors are non-fatal `ErrorFrame`s and its websocket service keeps retrying, so
without this a dead TTS leaves the caller in silence until the pipeline's idle timeout.

`requests` sits just before the TTS (it sees what the TTS is asked to say, and the TTS's errors on
their way upstream); `output` sits just after it (it sees the audio).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    ErrorFrame,
    Frame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    TextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

SENTENCE_ENDS = (".", "?", "!")


class TTSWatch:
    """Times each request to the TTS until its audio comes out."""

    def __init__(
        self,
        *,
        stall_secs: float,
        max_errors: int,
        on_failure: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._stall_secs = stall_secs
        self._max_errors = max_errors
        self._on_failure = on_failure
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None
        self._unspoken_text = False  # LLM text the TTS has not yet been pushed to speak
        self._errors = 0
        self._failure: asyncio.Task | None = None
        self.tts: FrameProcessor | None = None  # errors from this processor are counted
        self.requests = _TTSRequests(self)
        self.output = _TTSOutput(self)

    def expect_audio(self) -> None:
        """The TTS has been asked to speak: start the clock unless it is running."""
        if self._timer is None and self._failure is None:
            self._armed_at = time.monotonic()
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._stall_secs, self._fail, "no audio")

    def audio_out(self) -> None:
        """Audio left the TTS: it is alive."""
        self._unspoken_text = False
        self._errors = 0
        self._disarm()

    def interrupted(self) -> None:
        """The caller barged in: whatever was asked is cancelled."""
        self._unspoken_text = False
        self._disarm()

    def text_in(self, text: str, *, end_of_reply: bool = False) -> None:
        """LLM text on its way to the TTS, which speaks it a sentence at a time."""
        if any(c.isalnum() for c in text):
            self._unspoken_text = True
        if self._unspoken_text and (end_of_reply or text.rstrip().endswith(SENTENCE_ENDS)):
            self.expect_audio()

    def error(self, *, permanent: bool = False) -> None:
        """The TTS reported an error; `permanent`: Pipecat marked it unusable (e.g. key refused)."""
        self._errors += 1
        if permanent or self._errors >= self._max_errors:
            self._fail("unusable" if permanent else f"{self._errors} errors")

    def stop(self) -> None:
        """The call is over."""
        self._disarm()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_at = None

    def _fail(self, why: str) -> None:
        if self._failure is not None:
            return
        waited = time.monotonic() - self._armed_at if self._armed_at is not None else 0.0
        logger.warning("TTS unavailable ({}; {:.1f} s without audio)", why, waited)
        self._disarm()
        self._failure = asyncio.get_running_loop().create_task(self._on_failure())


class _TTSRequests(FrameProcessor):
    def __init__(self, watch: TTSWatch) -> None:
        super().__init__(name="TTSRequests")
        self._watch = watch

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        watch = self._watch
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, TTSSpeakFrame):
                if any(c.isalnum() for c in frame.text):
                    watch.expect_audio()
            elif isinstance(frame, TextFrame) and not isinstance(
                frame, TranscriptionFrame | InterimTranscriptionFrame
            ):
                if not getattr(frame, "skip_tts", False):
                    watch.text_in(frame.text)
            elif isinstance(frame, LLMFullResponseEndFrame):
                watch.text_in("", end_of_reply=True)
            elif isinstance(frame, InterruptionFrame):
                watch.interrupted()
        elif (
            isinstance(frame, ErrorFrame) and watch.tts is not None and frame.processor is watch.tts
        ):
            watch.error(permanent=not frame.processor.is_usable)
        await self.push_frame(frame, direction)


class _TTSOutput(FrameProcessor):
    def __init__(self, watch: TTSWatch) -> None:
        super().__init__(name="TTSOutput")
        self._watch = watch

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            self._watch.audio_out()
        await self.push_frame(frame, direction)
