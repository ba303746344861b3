"""Collects a PIN typed on the keypad (Twilio DTMF), only on calls from an owner's number.

Digits end with # (or when as many digits as the PIN has arrived); * starts again. The digits are
consumed here, so they never reach a log or the LLM.
"""

from __future__ import annotations

import asyncio

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import Frame, InputDTMFFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.call_session import CallSession


class OwnerPinGate(FrameProcessor):
    """Turns keypad digits into an owner PIN check."""

    def __init__(self, session: CallSession) -> None:
        super().__init__(name="OwnerPinGate")
        self._session = session
        self._digits: list[str] = []
        self._tasks: set[asyncio.Task] = set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
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
            self._digits.append(key.value)
        expected = self._session.settings.owner_pin
        full = expected is not None and len(self._digits) >= len(expected.get_secret_value())
        if key == KeypadEntry.POUND or full:
            pin, self._digits = "".join(self._digits), []
            if pin and self._session.control is not None:
                task = asyncio.create_task(self._session.control.verify_owner_pin(pin, respond=True))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
