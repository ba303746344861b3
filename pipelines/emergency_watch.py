"""Watches every caller transcript for the business's emergency phrases.

It sits right after STT, so it sees the words as soon as they are recognised, before the turn ends
and whatever the LLM decides to do. Detection itself is `bot.emergency.detect`.
"""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.call_session import CallSession
from bot.emergency import detect


class EmergencyWatcher(FrameProcessor):
    """Passes every frame on; on an emergency phrase, asks the call to go into emergency mode."""

    def __init__(self, session: CallSession) -> None:
        super().__init__(name="EmergencyWatcher")
        self._session = session
        self._tasks: set[asyncio.Task] = set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and not self._session.emergency:
            match = detect(frame.text, self._session.profile.emergency)
            if match is not None and self._session.control is not None:
                # Alerting does network I/O; it must not hold up the caller's audio.
                task = asyncio.create_task(
                    self._session.control.declare_emergency(
                        f'caller said "{match.phrase}"', life_threatening=match.life_threatening
                    )
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        await self.push_frame(frame, direction)
