"""Collects a PIN typed on the keypad (Twilio DTMF), only on calls from an owner's number.

Only # submits the digits, so nothing about the PIN's length shows; * starts again. The digits
are consumed here, so they never reach a log or the LLM. Entries longer than `MAX_KEYED` keep
only their last digits (a wrong PIN either way).
"""

from __future__ import annotations

import asyncio

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import Frame, InputDTMFFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.call_session import CallSession

MAX_KEYED = 16


class OwnerPinGate(FrameProcessor):
    """Turns keypad digits ended with # into an owner PIN check."""

    def __init__(self, session: CallSession) -> None:
        super().__init__(name="OwnerPinGate")
        self._session = session
        self._digits: list[str] = []
        self._tasks: set[asyncio.Task] = set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Collect keypad digits (never forwarded); on #, check them as the owner PIN."""
        await super().process_frame(frame, direction)
        if not isinstance(frame, InputDTMFFrame):
            await self.push_frame(frame, direction)
            return
        if not self._session.may_try_owner_pin:
            return
        key = frame.button
        if key == KeypadEntry.STAR:
            self._digits.clear()
            return
        if key != KeypadEntry.POUND:
            self._digits = [*self._digits, key.value][-MAX_KEYED:]
            return
        pin, self._digits = "".join(self._digits), []
        if pin and self._session.control is not None:
            task = asyncio.create_task(self._session.control.verify_owner_pin(pin, respond=True))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
