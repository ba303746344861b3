"""Watches every caller transcript for the business's emergency phrases.

It sits right after STT, so it sees the words as soon as they are recognised, before the turn ends
and whatever the LLM decides to do. The script and the LLM's guidance go ahead of the transcript,
so the LLM's answer to this very turn already follows them. Detection is `bot.emergency.detect`.
"""

from __future__ import annotations

from collections.abc import Callable

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.call_session import CallSession
from bot.emergency import detect


class EmergencyWatcher(FrameProcessor):
    """Passes every frame on; emergency words put the call's emergency frames ahead of them."""

    def __init__(
        self, session: CallSession, on_emergency: Callable[[str, bool], list[Frame]]
    ) -> None:
        super().__init__(name="EmergencyWatcher")
        self._session = session
        self._on_emergency = on_emergency

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and not self._session.emergency:
            match = detect(frame.text, self._session.profile.emergency)
            if match is not None:
                reason = f'caller said "{match.phrase}"'
                for emergency_frame in self._on_emergency(reason, match.life_threatening):
                    await self.push_frame(emergency_frame, direction)
        await self.push_frame(frame, direction)
