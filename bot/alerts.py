"""Emergency alerts to the owner, escalated until someone acknowledges.

Ladder, one step each time `ack_secs` pass without an acknowledgement:
  0. text every owner number (outbox-first, at once);
  1. phone the owner numbers and read the summary;
  2. phone the backup numbers;
  then the alert is `exhausted` (it stays visible to the owner).
Steps 1 and 2 (phone calls) only for alerts whose triage allows it: a possible emergency that
nobody confirmed texts the owner but never phones. Every alert keeps what was heard, the outcome
and the cues in `alert_triage` (with room for the owner's verdict), so wrong alarms can be reviewed.
Each alert text carries a reference ("#A7"). An SMS from an owner or backup number acknowledges the
alert it names ("OK A7", "7"), else the most recent open one, and is answered with a text saying
which; other open alerts keep escalating. The state lives in SQLite and each step is claimed with a
conditional UPDATE, so several worker processes never escalate the same alert twice.

One `EmergencyAlerts` per business: it sees only alerts of its own calls (`calls.profile`), so a
reply to one business's number never acknowledges another's alert, and it texts and phones from
that business's number.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from loguru import logger
from twilio.twiml.voice_response import VoiceResponse

from bot.outbox import Outbox
from bot.pii import mask_phone
from bot.profile import BusinessProfile
from bot.storage import Store, Transaction, utc_now
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

-- What was heard for each alert (and each possible emergency the LLM dismissed: alert_id NULL).
CREATE TABLE IF NOT EXISTS alert_triage (
    id               INTEGER PRIMARY KEY,
    call_id          TEXT NOT NULL,
    alert_id         INTEGER REFERENCES alerts (id),
    heard            TEXT NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN
                       ('certain', 'confirmed', 'unconfirmed', 'flagged', 'dismissed')),
    life_threatening INTEGER NOT NULL,
    cues             TEXT NOT NULL,
    language         TEXT NOT NULL,
    phone_escalation INTEGER NOT NULL,
    owner_verdict    TEXT CHECK (owner_verdict IN ('real', 'false_alarm')),
    created_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_triage_alert ON alert_triage (alert_id);

CREATE TABLE IF NOT EXISTS inbound_sms (
    message_sid  TEXT PRIMARY KEY,
    from_number  TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
"""


# Outcomes that may phone people: the detector was certain, or the caller/LLM confirmed it.
PHONING_OUTCOMES = frozenset({"certain", "confirmed", "flagged"})
_NAMED = re.compile(r"(?i)(?:#\s*a?|\ba)\s*(\d{1,7})\b")
_BARE = re.compile(r"(?i)^\W*(?:ok(?:ay)?|ack|yes|got it|on it|done)?\W*#?\s*(\d{1,7})\W*$")


@dataclass(frozen=True)
class Triage:
    """What raised an alert. outcome: certain | confirmed | unconfirmed | flagged | dismissed."""

    heard: str
    outcome: str
    cues: tuple[str, ...] = ()
    language: str = "en"

    @property
    def phones(self) -> bool:
        """Whether this triage may phone people: the detector was certain, or it was confirmed."""
        return self.outcome in PHONING_OUTCOMES


@dataclass(frozen=True)
class InboundResult:
    """What an inbound SMS did."""

    duplicate: bool
    acknowledged: int  # alerts acknowledged by it (0 or 1)
    alert_id: int | None = None
    reply: str | None = None  # the text sent back to the sender


def alert_ref(alert_id: int) -> str:
    """How an alert is named in texts: "A7"."""
    return f"A{alert_id}"


def named_alert(body: str) -> int | None:
    """The alert a reply names ("OK A7", "#A7", a bare "7"), or None."""
    found = _NAMED.search(body) or _BARE.match(body)
    return int(found.group(1)) if found else None


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
        business: str,
        from_number: str | None = None,
    ) -> None:
        self._store, self._outbox, self._twilio = store, outbox, twilio
        self._profile = profile
        self._ack_secs = ack_secs
        self._business = business  # the `calls.profile` of this business's calls
        self._from = from_number  # None: TWILIO_PHONE_NUMBER

    async def setup(self) -> None:
        """Create the tables this module keeps."""
        await self._store.ensure_schema(SCHEMA)

    def _owner_numbers(self) -> list[str]:
        return list(self._profile.owner.phones)

    def _backup_numbers(self) -> list[str]:
        return list(self._profile.owner.backup_phones)

    async def raise_alert(
        self, call_id: str, summary: str, *, life_threatening: bool, triage: Triage | None = None
    ) -> bool:
        """Open an alert for a call (once) and text the owner; False if one was already open.

        A call's alert raised without phone calls (an unconfirmed possible emergency) is upgraded
        when the emergency is later confirmed: phone escalation starts and the owner is told.
        """
        triage = triage or Triage(heard="", outcome="flagged")
        upgraded: int | None = None
        async with self._store.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO alerts (call_id, summary, life_threatening, status,"
                " next_action_at, created_at) VALUES (?, ?, ?, 'open', ?, ?)",
                (call_id, summary, int(life_threatening), time.time() + self._ack_secs, utc_now()),
            )
            if cur.rowcount:
                assert cur.lastrowid is not None  # set by the INSERT that just added a row
                alert_id = cur.lastrowid
                await self._insert_triage(db, call_id, alert_id, triage, life_threatening)
                await db.audit(
                    "system",
                    "emergency.alert",
                    call_id,
                    {"life": life_threatening, "outcome": triage.outcome, "alert": alert_id},
                )
            elif triage.phones:
                upgraded = await self._upgrade(db, call_id, triage, life_threatening)
        if upgraded is not None:
            await self._outbox.text_owners(
                self._owner_numbers(),
                key=f"emergency:{call_id}:confirmed",
                kind="emergency_alert",
                body=f"Alert #{alert_ref(upgraded)} CONFIRMED: {summary} "
                f"Reply OK {alert_ref(upgraded)} to acknowledge.",
                call_id=call_id,
            )
            return True
        if not cur.rowcount:
            return False
        ref = alert_ref(alert_id)
        body = f"Alert #{ref}: {summary} Reply OK {ref} to acknowledge."
        await self._outbox.text_owners(
            self._owner_numbers(),
            key=f"emergency:{call_id}:sms",
            kind="emergency_alert",
            body=body,
            call_id=call_id,
        )
        return True

    async def record_dismissal(self, call_id: str, triage: Triage) -> None:
        """Keep a possible emergency the conversation ruled out, for review; nobody is alerted."""
        async with self._store.transaction() as db:
            await self._insert_triage(db, call_id, None, triage, False)

    async def _insert_triage(
        self,
        db: Transaction,
        call_id: str,
        alert_id: int | None,
        triage: Triage,
        life: bool,
    ) -> None:
        await db.execute(
            "INSERT INTO alert_triage (call_id, alert_id, heard, outcome, life_threatening, cues,"
            " language, phone_escalation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                call_id,
                alert_id,
                triage.heard,
                triage.outcome,
                int(life),
                json.dumps(list(triage.cues)),
                triage.language,
                int(triage.phones),
                utc_now(),
            ),
        )

    async def _upgrade(
        self, db: Transaction, call_id: str, triage: Triage, life: bool
    ) -> int | None:
        """An open alert that may not phone becomes one that does; its id, or None."""
        row = await db.fetchone(
            "SELECT a.id FROM alerts a JOIN alert_triage t ON t.alert_id = a.id"
            " WHERE a.call_id = ? AND a.status = 'open' AND t.phone_escalation = 0",
            (call_id,),
        )
        if row is None:
            return None
        alert_id = int(row[0])
        await db.execute(
            "UPDATE alert_triage SET phone_escalation = 1, outcome = ?,"
            " life_threatening = MAX(life_threatening, ?) WHERE alert_id = ?",
            (triage.outcome, int(life), alert_id),
        )
        await db.execute(
            "UPDATE alerts SET next_action_at = ?, life_threatening = MAX(life_threatening, ?)"
            " WHERE id = ?",
            (time.time() + self._ack_secs, int(life), alert_id),
        )
        await db.audit("system", "emergency.confirmed", call_id, {"alert": alert_id})
        return alert_id

    async def record_inbound_sms(
        self, message_sid: str, from_number: str, body: str
    ) -> InboundResult:
        """Store an inbound SMS once per MessageSid; a reply from the owner acknowledges one alert.

        The alert the text names, else the most recent open one; the sender is told which.
        """
        responders = set(self._owner_numbers()) | set(self._backup_numbers())
        async with self._store.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO inbound_sms (message_sid, from_number, body, received_at)"
                " VALUES (?, ?, ?, ?)",
                (message_sid, from_number, body, utc_now()),
            )
            if cur.rowcount == 0:
                return InboundResult(duplicate=True, acknowledged=0)
            if from_number not in responders:
                return InboundResult(duplicate=False, acknowledged=0)
            open_alerts = [
                (int(r[0]), str(r[1]))
                for r in await db.fetchall(
                    "SELECT a.id, a.summary FROM alerts a JOIN calls c ON c.id = a.call_id"
                    " WHERE a.status = 'open' AND c.profile = ? ORDER BY a.id DESC",
                    (self._business,),
                )
            ]
            named = named_alert(body)
            chosen = (
                next((a for a in open_alerts if a[0] == named), None)
                if named
                else (open_alerts[0] if open_alerts else None)
            )
            if chosen is not None:
                done = await db.execute(
                    "UPDATE alerts SET status = 'acknowledged', acknowledged_at = ?,"
                    " acknowledged_by = ? WHERE id = ? AND status = 'open'",
                    (utc_now(), from_number, chosen[0]),
                )
                if done.rowcount != 1:
                    chosen = None
                else:
                    await db.audit("owner", "emergency.acknowledged", None, {"alert": chosen[0]})
        still_open = [alert_ref(i) for i, _ in open_alerts if chosen is None or i != chosen[0]]
        reply = _ack_reply(chosen, named, still_open)
        await self._outbox.send(
            key=f"sms-reply:{message_sid}", kind="alert_ack", to=from_number, body=reply
        )
        return InboundResult(
            duplicate=False,
            acknowledged=int(chosen is not None),
            alert_id=chosen[0] if chosen else None,
            reply=reply,
        )

    async def escalate_due(self) -> int:
        """Take the next step for every open alert whose wait ran out; returns steps taken."""
        now = time.time()
        due = await self._store.read_all(
            "SELECT alerts.id, alerts.call_id, alerts.summary, alerts.step FROM alerts"
            " JOIN calls c ON c.id = alerts.call_id WHERE alerts.status = 'open'"
            " AND c.profile = ? AND alerts.next_action_at <= ? AND NOT EXISTS"
            " (SELECT 1 FROM alert_triage t"
            " WHERE t.alert_id = alerts.id AND t.phone_escalation = 0)",
            (self._business, now),
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
            await self._twilio.call(number, str(twiml), from_=self._from)
        except TwilioUnavailable:
            logger.warning("emergency call to {} failed", mask_phone(number))
            return
        await self._store.audit("system", "emergency.called", call_id, {"step": step})


def _ack_reply(chosen: tuple[int, str] | None, named: int | None, still_open: list[str]) -> str:
    """The text back to an owner who replied to an alert."""
    rest = f" Still open: {', '.join(still_open)}." if still_open else ""
    if chosen is not None:
        return f"Acknowledged alert {alert_ref(chosen[0])}: {chosen[1][:100]}{rest}"
    if named is not None:
        return f"Alert {alert_ref(named)} is not open, nothing acknowledged.{rest}"
    return "No open emergency alert to acknowledge."
