"""Graceful drain: a server told to stop lets its live calls finish before it goes.

Invariants:
- Once `draining` is set it is never cleared: the webhook sends new callers to voicemail and
  `/ready` answers 503, so nothing new streams into a process that is about to exit.
- A live call either ends by itself within `drain_secs`, or is then told to say a short goodbye
  (not interruptible) and hang up, with `COMPLETED / server_shutdown` on its record.
- If the server closes while calls are still live (a second signal, or goodbyes that never
  finished), their records say `server_shutdown` too, never that the caller hung up.
- `run()` returns only when every tracked call has ended, or `wrap_up_secs` after the goodbyes
  (longer than the pipeline's own 20 s bound on a goodbye), so the server can then close what is
  left without cutting anyone off mid-sentence.

The signal itself is caught by `bot.serving.DrainingServer`, which runs `run()` before uvicorn
starts closing connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loguru import logger

from bot.call_session import CallSession

SHUTDOWN_REASON = "server_shutdown"
SHUTDOWN_GOODBYE = (
    "I'm sorry, I have to end the call now because our system is restarting. "
    "Please call back in a minute. Goodbye."
)
WRAP_UP_SECS = 25.0


@dataclass
class DrainReport:
    """What a drain did, for the log."""

    live_at_start: int
    ended_by_themselves: int
    told_goodbye: int
    left_over: int
    seconds: float


class Drain:
    """The calls this process is running, and whether it is shutting down."""

    def __init__(self, drain_secs: float, wrap_up_secs: float = WRAP_UP_SECS) -> None:
        self.drain_secs = drain_secs
        self.wrap_up_secs = wrap_up_secs
        self.draining = False
        self._calls: dict[str, CallSession] = {}
        self._idle = asyncio.Event()  # set whenever no call is live
        self._idle.set()

    @property
    def live_calls(self) -> int:
        """Calls running in this process now."""
        return len(self._calls)

    @contextmanager
    def track(self, session: CallSession) -> Iterator[None]:
        """Count `session` as live for as long as the block runs."""
        self._calls[session.call_id] = session
        self._idle.clear()
        try:
            yield
        finally:
            self._calls.pop(session.call_id, None)
            if not self._calls:
                self._idle.set()

    async def run(self) -> DrainReport:
        """Stop taking calls, let live ones end, then wrap up the rest. Never raises."""
        self.draining = True
        started = time.monotonic()
        at_start = len(self._calls)
        logger.warning(
            "shutting down: taking no new calls; {} live call(s) get up to {:.0f} s to finish",
            at_start,
            self.drain_secs,
        )
        await self._until_idle(self.drain_secs)
        remaining = list(self._calls.values())
        for session in remaining:
            await self._say_goodbye(session)
        if remaining:
            await self._until_idle(self.wrap_up_secs)
        report = DrainReport(
            live_at_start=at_start,
            ended_by_themselves=at_start - len(remaining),
            told_goodbye=len(remaining),
            left_over=len(self._calls),
            seconds=round(time.monotonic() - started, 2),
        )
        logger.warning("drained: {}", report)
        return report

    def abandon(self) -> None:
        """The server is closing now (a second signal): the calls still live lose their socket.

        Their records then say `FAILED / server_shutdown`, not that the caller hung up.
        """
        for session in list(self._calls.values()):
            session.decide_end("FAILED", SHUTDOWN_REASON)

    async def _until_idle(self, timeout: float) -> None:  # noqa: ASYNC109 (a deadline, not I/O)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    @staticmethod
    async def _say_goodbye(session: CallSession) -> None:
        if session.control is None:
            return
        try:
            await session.control.end_call(SHUTDOWN_REASON, SHUTDOWN_GOODBYE)
        except Exception as exc:  # one call failing to wrap up must not stop the others
            logger.error(
                "call {}: shutdown goodbye failed: {}", session.call_id, type(exc).__name__
            )
