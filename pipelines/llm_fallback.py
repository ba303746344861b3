"""When the LLM stops answering, the caller is never left in silence and their message is kept.

Each request to the model (the context frame that `LLMGate` passes on to it) gives the model
`stall_secs` to start answering (text or a tool call). The clock starts in the pipeline, before
the request reaches the model, so a reply however fast finds the clock running and stops it.
If it has not answered, the caller hears a short filler. If it still has not by `give_up_secs`,
the call leaves the LLM behind: a fixed prompt asks for a message, the caller's next words are
stored as a message and texted to the owner, and the bot says goodbye.
"""

from __future__ import annotations

import asyncio

from loguru import logger
from pipecat.frames.frames import Frame, LLMContextFrame, LLMTextFrame, TTSSpeakFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.call_session import CallSession
from bot.messages import leave_message

FILLER = "Sorry, just one moment."
ASK_FOR_MESSAGE = (
    "I'm sorry, I'm having trouble on my end. Please tell me your name and a short message, "
    "and someone will call you back on this number."
)
GOODBYE = "Thank you, I've passed your message on. Someone will call you back soon. Goodbye."


class LLMFallback:
    """Watches for a silent LLM and takes a message without it."""

    def __init__(self, session: CallSession, *, stall_secs: float, give_up_secs: float) -> None:
        self._session = session
        self._stall_secs = stall_secs
        self._give_up_secs = give_up_secs
        self._watch: asyncio.Task | None = None
        self.engaged = False
        # Speaks from after the LLM: a stuck LLM holds every frame queued behind it.
        self.voice = LLMBypass(self)

    def request_sent(self) -> None:
        """A request is on its way to the LLM: its clock starts (a running one restarts)."""
        if not self.engaged:
            self.model_answered()
            self._watch = asyncio.create_task(self._wait_for_model())

    def model_answered(self) -> None:
        """The LLM produced output (speech or a tool call)."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def take_message(self, text: str) -> None:
        """In fallback mode, the caller's turn is their message."""
        session = self._session
        await leave_message(
            session,
            body=text,
            source="fallback",
            callback=session.caller,
            sms=(
                f"Message for {session.profile.name} taken while the assistant was down, from "
                f"{session.caller or 'an unknown number'}: {text}"
            ),
        )
        assert session.control is not None
        await session.control.end_call("llm_unavailable", GOODBYE, status="FAILED")

    async def _wait_for_model(self) -> None:
        session = self._session
        await asyncio.sleep(self._stall_secs)
        await self.voice.speak(FILLER)
        await asyncio.sleep(max(0.0, self._give_up_secs - self._stall_secs))
        logger.warning("call {}: LLM gave no answer; taking a message instead", session.call_id)
        self.engaged = True
        await session.store.audit("system", "llm.fallback", session.call_id, {})
        await self.voice.speak(ASK_FOR_MESSAGE)

    def stop(self) -> None:
        """The call is over."""
        self.model_answered()


class LLMGate(FrameProcessor):
    """Stops requests reaching the LLM once the fallback has taken over the call."""

    def __init__(self, fallback: LLMFallback) -> None:
        super().__init__(name="LLMGate")
        self._fallback = fallback

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Hold LLM requests while the fallback is engaged; start the stall clock on the rest."""
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            if self._fallback.engaged:
                return
            # Before the model can possibly answer. A speculative request (a turn still open) may
            # be discarded with its answer, which would leave the clock running with no reply due.
            if direction == FrameDirection.DOWNSTREAM and not frame.speculation:
                self._fallback.request_sent()
        await self.push_frame(frame, direction)


class LLMBypass(FrameProcessor):
    """Sits right after the LLM: notices its output, and can speak past it when it is stuck."""

    def __init__(self, fallback: LLMFallback) -> None:
        super().__init__(name="LLMBypass")
        self._fallback = fallback

    async def speak(self, text: str) -> None:
        """Send a fixed line straight to TTS."""
        await self.queue_frame(TTSSpeakFrame(text))

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Tell the fallback the model answered when its text comes out; forward every frame."""
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMTextFrame):
            self._fallback.model_answered()
        await self.push_frame(frame, direction)
