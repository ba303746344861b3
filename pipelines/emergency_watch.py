"""Watches every caller transcript for emergencies and keeps one call's emergency state.

The watcher sits right after STT, so it sees the words as soon as they are recognised, before the
turn ends and whatever the LLM decides to do. Triage is `bot.triage.assess`:
- CERTAIN: the script and the LLM's guidance go ahead of the transcript (so the LLM's answer to
  this very turn already follows them) and the owner is alerted at once, with phone escalation.
- POSSIBLE: only guidance goes ahead of the transcript: ask one short confirming question, then
  call `flag_emergency` or `not_an_emergency`. If neither comes by `llm_stall_secs` after the
  caller's next turn ends (from then on only that clock counts), or by `emergency_confirm_secs`
  after the words when the caller has not answered (a stalled LLM asks nothing), or the call ends
  first, the owner is texted anyway ("unconfirmed"), without phone calls. Once the caller's answer
  is heard, that first clock starts again: a slow turn end never cuts an answer short, and a turn
  that never ends still alerts.
Every alert stores what was heard, the outcome and the cues (`bot.alerts.Triage`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import Frame, LLMMessagesAppendFrame, TranscriptionFrame, TTSSpeakFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.alerts import Triage
from bot.call_session import CallSession
from bot.triage import Assessment, Outcome, assess, confirm_question

LANGUAGE = "en"


@dataclass
class _Pending:
    """A possible emergency waiting for the LLM's verdict."""

    assessment: Assessment
    turns_before: int  # caller turns finished when it was heard
    bot_turns_before: int  # bot turns finished then: the answer comes after the bot has asked
    timer: asyncio.Task | None = None
    answer_heard: bool = False  # the confirm clock has restarted for the caller's answer
    answer_timer: asyncio.Task | None = None


class EmergencyTriage:
    """One call's emergencies: certain ones at once, possible ones confirmed or timed out."""

    def __init__(
        self, session: CallSession, queue_frames: Callable[[list[Frame]], Awaitable[None]]
    ) -> None:
        self._session = session
        self._queue_frames = queue_frames
        self._pending: _Pending | None = None
        self._unconfirmed_sent = False
        self._last_heard = ""
        self._tasks: set[asyncio.Task] = set()

    # ---- from the watcher ---------------------------------------------------------------------

    def heard(self, text: str) -> list[Frame]:
        """A final transcript: the frames to put ahead of it (none for most)."""
        session = self._session
        if session.emergency or not text.strip():
            return []
        self._last_heard = text.strip()
        self._answer_heard()
        found = assess(
            text, session.profile.emergency, kind=session.profile.kind, language=LANGUAGE
        )
        if found.outcome is Outcome.CERTAIN:
            self._cancel_pending()
            triage = Triage(found.heard, "certain", found.cues, LANGUAGE)
            frames = self._enter(f'caller said "{found.concept}"', found.life_threatening)
            self._background(self._alert(triage, found.concept, found.life_threatening))
            return frames
        if (
            found.outcome is Outcome.POSSIBLE
            and self._pending is None
            and not self._unconfirmed_sent
        ):
            return self._ask(found)
        return []

    def _answer_heard(self) -> None:
        """The first words after the bot has asked restart the confirm clock, once."""
        pending = self._pending
        if pending is None or pending.answer_heard or pending.answer_timer is not None:
            return
        if self._session.bot_turns <= pending.bot_turns_before:
            return
        pending.answer_heard = True
        if pending.timer is not None:
            pending.timer.cancel()
        pending.timer = self._background(
            self._expire(pending, self._session.settings.emergency_confirm_secs)
        )

    def _ask(self, found: Assessment) -> list[Frame]:
        session = self._session
        pending = _Pending(found, session.caller_turns, session.bot_turns)
        pending.timer = self._background(
            self._expire(pending, session.settings.emergency_confirm_secs)
        )
        self._pending = pending
        question = confirm_question(session.profile.kind, LANGUAGE)
        guidance = (
            f"POSSIBLE EMERGENCY ({found.concept}): the caller may be describing an emergency. "
            f'First ask one short question to confirm it is happening now, such as "{question}" '
            "Then call flag_emergency if it is happening now, or not_an_emergency if it is not "
            "(a question, something in the past, someone else's problem). Do not alarm the caller."
        )
        return [LLMMessagesAppendFrame(messages=[{"role": "developer", "content": guidance}])]

    # ---- from the runner and the tools --------------------------------------------------------

    async def flag(self, reason: str, *, life_threatening: bool) -> bool:
        """flag_emergency: a confirmed possible emergency, or one the LLM noticed on its own."""
        pending = self._pending
        self._cancel_pending()
        if pending is not None:
            found = pending.assessment
            triage = Triage(
                found.heard, "confirmed", (*found.cues, f"confirmed: {reason}"), LANGUAGE
            )
        elif self._unconfirmed_sent:
            triage = Triage(self._last_heard, "confirmed", (f"confirmed: {reason}",), LANGUAGE)
        else:
            triage = Triage(
                self._last_heard, "flagged", (f"flagged by the LLM: {reason}",), LANGUAGE
            )
        frames = self._enter(reason, life_threatening)
        if not frames:
            return False
        await self._queue_frames(frames)
        await self._alert(triage, reason, life_threatening)
        return True

    async def dismiss(self, reason: str) -> bool:
        """not_an_emergency: the possible emergency was not one; kept for review, nobody alerted."""
        pending = self._pending
        if pending is None:
            return False
        self._cancel_pending()
        found = pending.assessment
        if self._session.alerts is not None:
            await self._session.alerts.record_dismissal(
                self._session.call_id,
                Triage(found.heard, "dismissed", (*found.cues, f"dismissed: {reason}"), LANGUAGE),
            )
        return True

    def caller_turn_ended(self) -> None:
        """Note that the caller finished a turn.

        After the one that raised a possible emergency, the LLM has `llm_stall_secs` to decide.
        """
        pending = self._pending
        session = self._session
        if pending is None or pending.answer_timer is not None:
            return
        # The answer is a caller turn after the bot has spoken since the words were heard: a
        # sentence split into two turns by a pause is not an answer.
        answered = (
            session.caller_turns >= pending.turns_before + 2
            and session.bot_turns > pending.bot_turns_before
        )
        if answered:
            if pending.timer is not None:
                pending.timer.cancel()  # the caller answered: from now the LLM's clock counts
            pending.answer_timer = self._background(
                self._expire(pending, session.settings.llm_stall_secs)
            )

    async def close(self) -> None:
        """The call is over: a possible emergency nobody ruled out still reaches the owner.

        Alerts already under way are left to finish; only the waiting timers stop.
        """
        pending = self._pending
        if pending is not None:
            await self._unconfirmed(pending)

    # ---- internals ------------------------------------------------------------------------------

    async def _expire(self, pending: _Pending, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._pending is pending:
            await self._unconfirmed(pending)

    async def _unconfirmed(self, pending: _Pending) -> None:
        self._cancel_pending()
        self._unconfirmed_sent = True
        found = pending.assessment
        logger.info(
            "call {}: possible emergency not confirmed; texting the owner", self._session.call_id
        )
        triage = Triage(found.heard, "unconfirmed", found.cues, LANGUAGE)
        await self._alert(triage, found.concept, False)

    def _cancel_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        for task in (pending.timer, pending.answer_timer):
            if task is not None and task is not asyncio.current_task():
                task.cancel()

    def _background(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _enter(self, reason: str, life_threatening: bool) -> list[Frame]:
        """Mark the call (once) and build the script and the LLM's guidance; [] if already."""
        session = self._session
        if session.emergency:
            return []
        session.emergency = True
        rules = session.profile.emergency
        script = rules.life_threatening_script if life_threatening else rules.script
        spoken = TTSSpeakFrame(script)
        spoken.interruptible = not life_threatening  # safety instructions are heard in full
        guidance = (
            f"EMERGENCY ({reason}). The emergency script has just been spoken to the caller; do "
            "not repeat it. Keep replies very short. Get the service address and the best callback "
            "number, confirm them, and tell the caller the owner has been alerted."
        )
        if life_threatening:
            guidance += f" Remind the caller to get to safety and call {rules.emergency_number}."
        return [
            spoken,
            LLMMessagesAppendFrame(messages=[{"role": "developer", "content": guidance}]),
        ]

    async def _alert(self, triage: Triage, what: str, life_threatening: bool) -> None:
        session = self._session
        try:
            await session.store.add_call_flag(session.call_id, "emergency")
            await session.emit(
                "emergency",
                {"reason": what, "life_threatening": life_threatening, "outcome": triage.outcome},
            )
            if session.alerts is None:
                return
            callback = session.caller or "unknown number"
            label = "EMERGENCY" if triage.phones else "POSSIBLE EMERGENCY (caller did not confirm)"
            heard = triage.heard[:120]
            summary = (
                f'{label} at {session.profile.name}: {what}, caller said "{heard}". '
                f"Callback {callback}. Call {session.call_id[-8:]}."
            )
            await session.alerts.raise_alert(
                session.call_id, summary, life_threatening=life_threatening, triage=triage
            )
        except Exception as exc:  # the alert must never take the call down
            logger.error("call {}: emergency alert failed: {}", session.call_id, type(exc).__name__)


class EmergencyWatcher(FrameProcessor):
    """Passes every frame on; emergency words put the call's emergency frames ahead of them."""

    def __init__(self, triage: EmergencyTriage) -> None:
        super().__init__(name="EmergencyWatcher")
        self._triage = triage

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Triage each final transcript; push any emergency frames ahead of it."""
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            for emergency_frame in self._triage.heard(frame.text):
                await self.push_frame(emergency_frame, direction)
        await self.push_frame(frame, direction)
