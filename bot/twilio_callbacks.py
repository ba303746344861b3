"""Twilio's callbacks after the call: voicemail recordings and status callbacks, each kept once.

Invariants:
- One message per recording: the RecordingSid is the key, claimed in the same transaction that
  stores the message, so Twilio retrying the `<Record>` action, or the recording's status
  callback arriving as well, never makes a second message.
- One text per recording and owner number: the outbox key is `voicemail:<RecordingSid>`. The
  texting step runs on every delivery, so a retry after a crash between the two steps still
  texts the owners, and never twice.
- Status callbacks are stored once per (kind, sid, status), whatever their order or repetition;
  they are a record only and never change a call's own record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loguru import logger

from bot.outbox import Outbox
from bot.pii import mask_phone
from bot.storage import Store, utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS voicemails (
    recording_sid TEXT PRIMARY KEY,
    call_sid      TEXT,
    message_id    INTEGER NOT NULL REFERENCES messages (id),
    received_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS twilio_status_callbacks (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('call', 'recording')),
    sid         TEXT NOT NULL,
    status      TEXT NOT NULL,
    call_sid    TEXT,
    detail      TEXT NOT NULL DEFAULT '{}',
    received_at TEXT NOT NULL,
    UNIQUE (kind, sid, status)
);
"""

SMS_LIMIT = 600
# Fields kept from a status callback, besides the sids and the status itself.
CALL_STATUS_FIELDS = (
    "CallDuration",
    "Direction",
    "SequenceNumber",
    "Timestamp",
    "ErrorCode",
    "SipResponseCode",
)
RECORDING_STATUS_FIELDS = ("RecordingDuration", "RecordingUrl", "ErrorCode", "RecordingSource")


@dataclass(frozen=True)
class VoicemailResult:
    """What a recording delivery did."""

    message_id: int
    duplicate: bool  # this RecordingSid had been stored before
    texted: int  # owner numbers the outbox sent (or queued) a text to on this delivery


def recording_sid_of(form_sid: str, recording_url: str) -> str | None:
    """The recording's sid: the RecordingSid field, else the last part of RecordingUrl."""
    for candidate in (form_sid, recording_url.rstrip("/").rsplit("/", 1)[-1]):
        candidate = candidate.strip()
        if candidate.startswith("RE") and len(candidate) <= 64 and candidate.isalnum():
            return candidate
    return None


def voicemail_text(business: str, caller: str | None, duration: str, url: str | None) -> str:
    """The owner's text: who called and where to listen."""
    who = caller or "a withheld number"
    secs = f" ({duration} s)" if duration.isdigit() else ""
    listen = f" Listen: {url}" if url else ""
    return f"{business}: voicemail from {who}{secs}.{listen}"[:SMS_LIMIT]


def _field(form: Mapping[str, Any], name: str, limit: int = 512) -> str:
    return str(form.get(name) or "")[:limit]


class TwilioCallbacks:
    """Keep voicemails and status callbacks for one business, and text voicemails to its owners."""

    def __init__(self, store: Store, outbox: Outbox, *, business: str, owners: list[str]) -> None:
        self._store, self._outbox = store, outbox
        self._business = business
        self._owners = list(owners)

    async def setup(self) -> None:
        """Create the tables this module keeps."""
        await self._store.ensure_schema(SCHEMA)

    async def recording_posted(self, form: Mapping[str, Any]) -> str | None:
        """A `<Record>` action or a recording status callback (it has `RecordingStatus`).

        Returns what is wrong with the request (for a 400), or None once it is handled.
        """
        call_sid = _field(form, "CallSid", 64) or None
        url = _field(form, "RecordingUrl") or None
        sid = recording_sid_of(_field(form, "RecordingSid", 64), url or "")
        status = _field(form, "RecordingStatus", 32)
        if sid is None:
            return "missing RecordingSid"
        if status:
            detail = {k: _field(form, k) for k in RECORDING_STATUS_FIELDS if form.get(k)}
            await self.store_status(
                kind="recording", sid=sid, status=status, call_sid=call_sid, detail=detail
            )
            if status != "completed":  # absent or failed: there is nothing to listen to
                return None
        if url is None:
            return "missing RecordingUrl"
        await self.keep_voicemail(
            recording_sid=sid,
            call_sid=call_sid,
            caller=_field(form, "From", 64) or None,
            recording_url=url,
            duration=_field(form, "RecordingDuration", 16),
        )
        return None

    async def call_status_posted(self, form: Mapping[str, Any]) -> str | None:
        """A call status callback; returns what is wrong with it, or None once it is kept."""
        call_sid, status = _field(form, "CallSid", 64), _field(form, "CallStatus", 32)
        if not call_sid.startswith("CA") or not status:
            return "missing CallSid or CallStatus"
        detail = {k: _field(form, k, 256) for k in CALL_STATUS_FIELDS if form.get(k)}
        await self.store_status(
            kind="call", sid=call_sid, status=status, call_sid=call_sid, detail=detail
        )
        return None

    async def keep_voicemail(
        self,
        *,
        recording_sid: str,
        call_sid: str | None,
        caller: str | None,
        recording_url: str | None,
        duration: str = "",
    ) -> VoicemailResult:
        """Store the recording as a message (once per sid), then text the owners (once each)."""
        call = await self._store.get_call(call_sid) if call_sid else None
        call_id = call.id if call else None
        # The number on our own call record is the one Twilio gave the voice webhook.
        caller = (call.caller if call else None) or caller or None
        async with self._store.transaction() as db:
            row = await db.fetchone(
                "SELECT message_id FROM voicemails WHERE recording_sid = ?", (recording_sid,)
            )
            duplicate = row is not None
            if row is None:
                cur = await db.execute(
                    "INSERT INTO messages (call_id, callback, body, urgency, source, recording_url,"
                    " created_at) VALUES (?, ?, 'Voicemail recording', 'normal', 'voicemail', ?, ?)",
                    (call_id, caller, recording_url, utc_now()),
                )
                message_id = int(cur.lastrowid or 0)
                await db.execute(
                    "INSERT INTO voicemails (recording_sid, call_sid, message_id, received_at)"
                    " VALUES (?, ?, ?, ?)",
                    (recording_sid, call_sid, message_id, utc_now()),
                )
                await db.audit("voicemail", "message.stored", call_id, {"message_id": message_id})
            else:
                message_id = int(row[0])
        results = await self._outbox.text_owners(
            self._owners,
            key=f"voicemail:{recording_sid}",
            kind="voicemail",
            body=voicemail_text(self._business, caller, duration, recording_url),
            call_id=call_id,
        )
        if not duplicate:
            logger.info(
                "voicemail {} from {} stored as message {}",
                recording_sid,
                mask_phone(caller),
                message_id,
            )
        texted = sum(not r.duplicate for r in results)
        return VoicemailResult(message_id=message_id, duplicate=duplicate, texted=texted)

    async def store_status(
        self, *, kind: str, sid: str, status: str, call_sid: str | None, detail: dict[str, str]
    ) -> bool:
        """Keep one status callback; False when this (kind, sid, status) was already kept."""
        async with self._store.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO twilio_status_callbacks (kind, sid, status, call_sid,"
                " detail, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, sid, status, call_sid, json.dumps(detail), utc_now()),
            )
        return cur.rowcount == 1
