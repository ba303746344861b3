"""Admission control: which incoming calls this machine streams, and which go to voicemail.

Invariants:
- A call is admitted only while fewer than `limit` calls are ACTIVE in the database. The count
  and the new call's row are written in one `BEGIN IMMEDIATE` transaction, which SQLite runs one
  at a time across every worker process, so concurrent webhooks can never admit past the limit.
  The database is per machine, so the limit is per machine whatever `WORKERS` is.
- A refused call still gets its record (`FAILED`, with `over_capacity` or `server_draining`) and
  the caller can leave a voicemail; nothing is streamed into a full or dying process.
- The decision is per CallSid and stable: Twilio's retries of the webhook get the same answer.
- At most `PendingStreams.limit` Media Streams upgrades per process may be waiting for Twilio's
  `start` message at once; more are refused before they are accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.storage import Store, utc_now

OVER_CAPACITY = "over_capacity"
DRAINING = "server_draining"
BUSY_MESSAGE = (
    "Sorry, all our lines are busy right now. Please leave your name, number and a short "
    "message after the tone, and we will call you back."
)


@dataclass(frozen=True)
class Admission:
    """The webhook's answer for one CallSid."""

    admitted: bool
    created: bool  # first time this CallSid was seen
    reason: str | None = None  # why it was refused


async def admit_twilio_call(
    store: Store,
    call_sid: str,
    caller: str | None,
    called: str | None,
    profile: str,
    *,
    limit: int,
    draining: bool,
) -> Admission:
    """Create the call's record once per CallSid, ACTIVE if there is room, else FAILED."""
    async with store.transaction() as db:
        row = await db.fetchone(
            "SELECT status, end_reason FROM calls WHERE call_sid = ?", (call_sid,)
        )
        if row is not None:
            refused = row[0] == "FAILED" and row[1] in (OVER_CAPACITY, DRAINING)
            return Admission(
                admitted=not refused, created=False, reason=row[1] if refused else None
            )
        reason = None
        if draining:
            reason = DRAINING
        else:
            active = await db.fetchone("SELECT COUNT(*) FROM calls WHERE status = 'ACTIVE'")
            if active is not None and int(active[0]) >= limit:
                reason = OVER_CAPACITY
        now = utc_now()
        await db.execute(
            "INSERT INTO calls (id, call_sid, transport, caller, called, profile, status,"
            " started_at, ended_at, end_reason) VALUES (?, ?, 'twilio', ?, ?, ?, ?, ?, ?, ?)",
            (
                call_sid,
                call_sid,
                caller,
                called,
                profile,
                "FAILED" if reason else "ACTIVE",
                now,
                now if reason else None,
                reason,
            ),
        )
        await db.audit("twilio", "call.created", call_sid, {})
        if reason:
            await db.audit("system", "call.refused", call_sid, {"reason": reason, "limit": limit})
    return Admission(admitted=reason is None, created=True, reason=reason)


class PendingStreams:
    """Media Streams sockets accepted but still waiting for `start`, in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    @property
    def full(self) -> bool:
        """No room for another socket waiting for `start`."""
        return self.count >= self.limit

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Occupy one place while the block waits for `start`."""
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
