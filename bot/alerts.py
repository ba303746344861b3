"""Emergency alerts to the owner, escalated until someone acknowledges.

Ladder, one step each time `ack_secs` pass without an acknowledgement:
  0. text every owner number (outbox-first, at once);
  1. phone the owner numbers and read the summary;
  2. phone the backup numbers;
  then the alert is `exhausted` (it stays visible to the owner).
Any SMS reply from an owner or backup number acknowledges every open alert. The state lives in
SQLite and each step is claimed with a conditional UPDATE, so several worker processes never
escalate the same alert twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from loguru import logger
from twilio.twiml.voice_response import VoiceResponse

from bot.outbox import Outbox
from bot.pii import mask_phone
from bot.profile import BusinessProfile
from bot.storage import Store, utc_now
from bot.twilio_rest import TwilioRest, TwilioUnavailable

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id             INTEGER PRIMARY KEY,
    call_id        TEXT NOT NULL UNIQUE REFERENCES calls (id),
    summary        TEXT NOT NULL,
    life_threatening INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'exhausted')),
    step           INTEGER NOT NULL DEFAULT 0,
    next_action_at REAL NOT NULL,
    created_at     TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT
);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (status, next_action_at);

CREATE TABLE IF NOT EXISTS inbound_sms (
    message_sid  TEXT PRIMARY KEY,
    from_number  TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class InboundResult:
    """What an inbound SMS did."""

    duplicate: bool
    acknowledged: int  # alerts acknowledged by it


class EmergencyAlerts:
    """Raise, acknowledge and escalate emergency alerts for one business."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        twilio: TwilioRest | None,
        profile: BusinessProfile,
        *,
        ack_secs: float,
    ) -> None:
        self._store, self._outbox, self._twilio = store, outbox, twilio
        self._profile = profile
        self._ack_secs = ack_secs

    async def setup(self) -> None:
        """Create the tables this module keeps."""
        await self._store.ensure_schema(SCHEMA)

    def _owner_numbers(self) -> list[str]:
        return list(self._profile.owner.phones)

    def _backup_numbers(self) -> list[str]:
        return list(self._profile.owner.backup_phones)

    async def raise_alert(self, call_id: str, summary: str, *, life_threatening: bool) -> bool:
        """Open an alert for a call (once) and text the owner; False if one was already open."""
        async with self._store.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO alerts (call_id, summary, life_threatening, status,"
                " next_action_at, created_at) VALUES (?, ?, ?, 'open', ?, ?)",
                (call_id, summary, int(life_threatening), time.time() + self._ack_secs, utc_now()),
            )
            if cur.rowcount:
                await db.audit("system", "emergency.alert", call_id, {"life": life_threatening})
        if not cur.rowcount:
            return False
        body = f"{summary} Reply to this text to acknowledge."
        await self._outbox.text_owners(
            self._owner_numbers(),
            key=f"emergency:{call_id}:sms",
            kind="emergency_alert",
            body=body,
            call_id=call_id,
        )
        return True

    async def record_inbound_sms(
        self, message_sid: str, from_number: str, body: str
    ) -> InboundResult:
        """Store an inbound SMS once per MessageSid; a reply from the owner acknowledges alerts."""
        responders = set(self._owner_numbers()) | set(self._backup_numbers())
        async with self._store.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO inbound_sms (message_sid, from_number, body, received_at)"
                " VALUES (?, ?, ?, ?)",
                (message_sid, from_number, body, utc_now()),
            )
            if cur.rowcount == 0:
                return InboundResult(duplicate=True, acknowledged=0)
            acked = 0
            if from_number in responders:
                done = await db.execute(
                    "UPDATE alerts SET status = 'acknowledged', acknowledged_at = ?,"
                    " acknowledged_by = ? WHERE status = 'open'",
                    (utc_now(), from_number),
                )
                acked = done.rowcount
                if acked:
                    await db.audit("owner", "emergency.acknowledged", None, {"alerts": acked})
        return InboundResult(duplicate=False, acknowledged=acked)

    async def escalate_due(self) -> int:
        """Take the next step for every open alert whose wait ran out; returns steps taken."""
        now = time.time()
        due = await self._store.read_all(
            "SELECT id, call_id, summary, step FROM alerts WHERE status = 'open'"
            " AND next_action_at <= ?",
            (now,),
        )
        taken = 0
        for alert_id, call_id, summary, step in due:
            ladder = [self._owner_numbers(), self._backup_numbers()]
            next_step = int(step) + 1
            exhausted = next_step > len(ladder)
            async with self._store.transaction() as db:
                claimed = await db.execute(
                    "UPDATE alerts SET step = ?, next_action_at = ?, status = ?"
                    " WHERE id = ? AND step = ? AND status = 'open'",
                    (
                        next_step,
                        now + self._ack_secs,
                        "exhausted" if exhausted else "open",
                        alert_id,
                        step,
                    ),
                )
            if claimed.rowcount != 1 or exhausted:
                continue
            taken += 1
            for number in ladder[next_step - 1]:
                await self._phone(call_id, number, summary, next_step)
        return taken

    async def _phone(self, call_id: str, number: str, summary: str, step: int) -> None:
        twiml = VoiceResponse()
        twiml.say(f"Emergency alert from your receptionist. {summary}", loop=2)
        twiml.say("Reply to the alert text message to stop these calls.")
        if self._twilio is None:
            logger.warning(
                "cannot phone {} about an emergency: Twilio not configured", mask_phone(number)
            )
            return
        try:
            await self._twilio.call(number, str(twiml))
        except TwilioUnavailable:
            logger.warning("emergency call to {} failed", mask_phone(number))
            return
        await self._store.audit("system", "emergency.called", call_id, {"step": step})
