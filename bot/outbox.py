"""Outgoing SMS, outbox first: a row is written before Twilio is asked, one per dedupe key.

- Nothing is sent twice: the key (e.g. `booking:<id>:confirmation`) is UNIQUE, and a message is
  only sent from the `pending` state. A row left in `sending` (crash between Twilio accepting and
  us recording it) is never retried automatically; it waits for a person.
- Nothing is lost: without Twilio the row stays `unconfigured`, where the owner can read it; a
  failed send stays `failed` and is retried by `retry_failed`.
- Each business texts from its own number: the row keeps the sender, so a retry (by any
  business's outbox, any process) leaves from the same number as the first try.
"""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from bot.pii import mask_phone
from bot.storage import Store, utc_now
from bot.twilio_rest import TwilioRest, TwilioUnavailable

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class OutboxResult:
    """What happened to one message."""

    id: int
    status: str  # pending | sending | sent | failed | unconfigured
    duplicate: bool  # True if this key was already in the outbox


class Outbox:
    """Queue and send SMS through Twilio, recording every step in the `outbox` table."""

    def __init__(
        self, store: Store, twilio: TwilioRest | None, *, from_number: str | None = None
    ) -> None:
        self._store = store
        self._twilio = twilio
        self._from = from_number  # None: Twilio's default, TWILIO_PHONE_NUMBER

    async def send(
        self, *, key: str, kind: str, to: str, body: str, call_id: str | None = None
    ) -> OutboxResult:
        """Record the message under `key`, then send it unless it was already handled."""
        status = "pending" if self._twilio is not None else "unconfigured"
        async with self._store.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO outbox (dedupe_key, kind, to_number, from_number, body,"
                " call_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, kind, to, self._from, body, call_id, status, utc_now()),
            )
            duplicate = cur.rowcount == 0
            row = await db.fetchone("SELECT id, status FROM outbox WHERE dedupe_key = ?", (key,))
        assert row is not None
        outbox_id, current = int(row[0]), str(row[1])
        if duplicate or current != "pending":
            return OutboxResult(outbox_id, current, duplicate)
        return OutboxResult(outbox_id, await self._deliver(outbox_id, to, self._from, body), False)

    async def text_owners(
        self, owners: list[str], *, key: str, kind: str, body: str, call_id: str | None = None
    ) -> list[OutboxResult]:
        """Send one message to each owner number; each gets its own key (`<key>:<number>`)."""
        return [
            await self.send(key=f"{key}:{number}", kind=kind, to=number, body=body, call_id=call_id)
            for number in owners
        ]

    async def _deliver(self, outbox_id: int, to: str, sender: str | None, body: str) -> str:
        async with self._store.transaction() as db:
            cur = await db.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1"
                " WHERE id = ? AND status IN ('pending', 'failed')",
                (outbox_id,),
            )
        if cur.rowcount != 1:  # another task took it
            return "sending"
        assert self._twilio is not None
        try:
            sent = await self._twilio.send_sms(to, body, from_=sender)
        except TwilioUnavailable as exc:
            logger.warning("sms {} to {} failed: {}", outbox_id, mask_phone(to), exc)
            async with self._store.transaction() as db:
                await db.execute(
                    "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?",
                    (str(exc), outbox_id),
                )
            return "failed"
        async with self._store.transaction() as db:
            await db.execute(
                "UPDATE outbox SET status = 'sent', provider_sid = ?, sent_at = ? WHERE id = ?",
                (sent.sid, utc_now(), outbox_id),
            )
        return "sent"

    async def retry_failed(self) -> int:
        """Resend messages whose earlier attempts failed; returns how many were sent."""
        if self._twilio is None:
            return 0
        rows = await self._store.read_all(
            "SELECT id, to_number, from_number, body FROM outbox"
            " WHERE status = 'failed' AND attempts < ?",
            (MAX_ATTEMPTS,),
        )
        sent = 0
        for outbox_id, to, sender, body in rows:
            delivered = await self._deliver(int(outbox_id), str(to), sender, str(body))
            sent += delivered == "sent"
        return sent
