"""Google Calendar as the business's calendar, with no double booking despite no transactions.

Invariant: a slot is booked on Google only while this host's ledger holds it, and an event the
owner made or edited on the calendar always wins over ours. Four layers, in order, for every
booking:
1. Claim the slot in the local ledger (`BEGIN IMMEDIATE`, UNIQUE cells): closes the race between
   calls on this host at SQLite speed.
2. List the events around the slot: an event the owner typed in by hand makes it "just taken".
3. Insert with a deterministic id (base32hex of a hash of calendar and booking id): a retried
   insert whose first response was lost gets 409, and a GET shows the event carries our private
   `booking_id`, so it counts as done instead of creating a duplicate.
4. List again after the insert: if another overlapping event exists that was created first (or
   by hand), delete ours and report "just taken". Ties break on the event id.

Updates and deletes send `If-Match: <etag>`. On 412 the event is re-read: if the owner only
edited other fields, the change is re-applied on the new etag; if they moved or removed it, the
change is reported (`CalendarConflict`) and their edit stands.

HTTP, credentials and retries are `GoogleApi`'s (`google_api`); the event we write and how an
event on the calendar is read are pure functions in `google_events`. When the retry budget runs
out the booking is kept as a pending request and the office is told (`Outcome(pending=True)`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from loguru import logger

from bot.profile import BusinessProfile
from bot.scheduling.availability import Interval
from bot.scheduling.calendar import Outcome
from bot.scheduling.errors import (
    CalendarConflict,
    CalendarError,
    CalendarRejected,
    CalendarUnavailable,
    SlotTaken,
)
from bot.scheduling.google_api import GoogleApi, GoogleStatus
from bot.scheduling.google_events import (
    blocks,
    booking_id_of,
    came_first,
    event_body,
    event_id_for,
    parse_time,
    rfc3339,
    times_body,
    unchanged,
)
from bot.scheduling.ledger import Booking, Ledger

FREEBUSY_DAYS = 28  # longest window asked of freeBusy at once


class GoogleCalendar:
    """The business's Google Calendar, behind the same ledger the built-in calendar uses."""

    kind = "google"

    def __init__(self, api: GoogleApi, ledger: Ledger, profile: BusinessProfile) -> None:
        self._api = api
        self._ledger = ledger
        self._profile = profile
        self._buffer = timedelta(minutes=profile.scheduling.buffer_minutes)
        self.calendar_id = api.calendar_id
        self.key = f"google:{api.calendar_id}"

    # ---- reads -------------------------------------------------------------------------------

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Local claims plus Google's free/busy (which includes events added by hand).

        Long windows are asked for in pieces of `FREEBUSY_DAYS`, concurrently, to stay within
        the span one free/busy query may cover.
        """
        local = await self._ledger.busy(self.key, start, end)
        pieces, cursor = [], start
        while cursor < end:
            pieces.append((cursor, min(end, cursor + timedelta(days=FREEBUSY_DAYS))))
            cursor = pieces[-1][1]
        found = await asyncio.gather(*(self._freebusy(a, b) for a, b in pieces))
        return local + [interval for piece in found for interval in piece]

    async def _freebusy(self, start: datetime, end: datetime) -> list[Interval]:
        body = {
            "timeMin": rfc3339(start),
            "timeMax": rfc3339(end),
            "items": [{"id": self.calendar_id}],
        }
        result = await self._api.run("freebusy", lambda s: s.freebusy().query(body=body))
        entry = (result.get("calendars") or {}).get(self.calendar_id) or {}
        if entry.get("errors"):
            reason = str(entry["errors"][0].get("reason", "unknown"))
            logger.error("google calendar freebusy: calendar error {}", reason)
            raise CalendarRejected(f"freebusy {reason}")
        return [
            Interval(parse_time(b["start"]), parse_time(b["end"])) for b in entry.get("busy", [])
        ]

    async def _events_around(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        result = await self._api.run(
            "list",
            lambda s: s.events().list(
                calendarId=self.calendar_id,
                timeMin=rfc3339(start - self._buffer),
                timeMax=rfc3339(end + self._buffer),
                singleEvents=True,
                maxResults=250,
            ),
        )
        return list(result.get("items") or [])

    async def _get(self, event_id: str) -> dict[str, Any] | None:
        try:
            event: dict[str, Any] = await self._api.run(
                "get",
                lambda s: s.events().get(calendarId=self.calendar_id, eventId=event_id),
                passthrough=frozenset({404, 410}),
            )
            return event
        except GoogleStatus:
            return None

    # ---- book ----------------------------------------------------------------------------------

    async def book(self, booking: Booking) -> Outcome:
        """Ledger claim, hand-made-event check, idempotent insert, re-check; else pending."""
        held = await self._ledger.claim(self.key, booking, self._buffer)
        event_id = event_id_for(self.calendar_id, held.id)
        try:
            around = await self._events_around(held.start, held.end)
            if any(blocks(e, held, self._buffer) for e in around):
                raise SlotTaken()
            event = await self._insert(held)
            await self._recheck(held, event)
        except SlotTaken:
            await self._ledger.set_status(held, "released")
            raise
        except CalendarError as exc:
            return await self._pending(held, "book", exc, event_id)
        except BaseException:
            # Interrupted mid-write (the call ended): the event may or may not exist, so the
            # slot stays held and the office is asked to check.
            await asyncio.shield(
                self._pending(held, "book", CalendarUnavailable("interrupted"), event_id)
            )
            raise
        confirmed = await self._ledger.set_status(
            held, "confirmed", event_id=event["id"], etag=event.get("etag")
        )
        return Outcome(confirmed)

    async def _pending(
        self, booking: Booking, kind: str, exc: CalendarError, event_id: str | None
    ) -> Outcome:
        status = "pending" if kind == "book" else booking.status
        kept = booking
        if kind == "book":
            kept = await self._ledger.set_status(booking, status, event_id=event_id)
        await self._ledger.add_pending(
            kept,
            kind,
            exc.reason,
            {"detail": getattr(exc, "detail", ""), "event_id": event_id},
            booking.call_id,
        )
        return Outcome(kept, pending=True)

    async def _insert(self, booking: Booking) -> dict[str, Any]:
        body = event_body(self._profile, self.calendar_id, booking)
        try:
            inserted: dict[str, Any] = await self._api.run(
                "insert",
                lambda s: s.events().insert(
                    calendarId=self.calendar_id, body=body, sendUpdates="none"
                ),
                passthrough=frozenset({409}),
            )
            return inserted
        except GoogleStatus:
            pass
        # 409: an event with our id exists. Ours (a retried insert whose answer was lost)?
        existing = await self._get(body["id"])
        if existing is None or booking_id_of(existing) != booking.id:
            raise CalendarRejected("event id collision")
        if existing.get("status") == "cancelled":
            updated: dict[str, Any] = await self._api.run(
                "update",
                lambda s: s.events().update(
                    calendarId=self.calendar_id, eventId=body["id"], body=body, sendUpdates="none"
                ),
                if_match=existing.get("etag"),
            )
            return updated
        return existing

    async def _recheck(self, booking: Booking, ours: dict[str, Any]) -> None:
        """Layer 4: if an overlapping event came first (or by hand), withdraw ours."""
        rivals = [
            e
            for e in await self._events_around(booking.start, booking.end)
            if blocks(e, booking, self._buffer)
        ]
        if any(came_first(e, ours) for e in rivals):
            logger.warning("google calendar: lost a race for a slot; withdrawing our event")
            try:
                await self._delete(ours["id"], ours.get("etag"), booking)
            except CalendarError as exc:
                await self._ledger.add_pending(
                    booking,
                    "cancel",
                    "duplicate_cleanup",
                    {"event_id": ours["id"], "detail": exc.reason},
                    booking.call_id,
                )
            raise SlotTaken()

    # ---- move and cancel -----------------------------------------------------------------------

    async def move(self, booking: Booking, start: datetime, end: datetime) -> Outcome:
        """Hold the new time, patch the event's times with If-Match, then release the old time."""
        added = await self._ledger.claim_move(self.key, booking, start, end, self._buffer)
        moved = replace(booking, start=start, end=end)
        try:
            if not booking.event_id:
                raise CalendarConflict()
            if any(blocks(e, moved, self._buffer) for e in await self._events_around(start, end)):
                raise SlotTaken()
            event = await self._patch_times(booking, moved)
        except (SlotTaken, CalendarConflict):
            await self._ledger.abort_move(booking, added)
            raise
        except CalendarError as exc:
            await self._ledger.abort_move(booking, added)
            await self._ledger.add_pending(
                booking,
                "reschedule",
                exc.reason,
                {"to_start": start.isoformat(), "to_end": end.isoformat()},
                booking.call_id,
            )
            return Outcome(booking, pending=True)
        except BaseException:
            await asyncio.shield(self._ledger.abort_move(booking, added))
            raise
        done = await self._ledger.finish_move(
            booking, start, end, self._buffer, etag=event.get("etag")
        )
        return Outcome(done)

    async def _patch_times(self, booking: Booking, moved: Booking) -> dict[str, Any]:
        body = times_body(self._profile, moved.start, moved.end)
        event_id, etag = booking.event_id, booking.etag
        for _ in range(2):
            try:
                patched: dict[str, Any] = await self._api.run(
                    "patch",
                    lambda s: s.events().patch(
                        calendarId=self.calendar_id, eventId=event_id, body=body, sendUpdates="none"
                    ),
                    if_match=etag,
                    passthrough=frozenset({404, 410, 412}),
                )
                return patched
            except GoogleStatus as status:
                if status.status != 412:
                    raise CalendarConflict() from None
            current = await self._get(event_id or "")
            if not unchanged(current, booking):
                raise CalendarConflict()
            assert current is not None
            etag = current.get("etag")  # only other fields changed: re-apply on the new etag
        raise CalendarConflict()

    async def cancel(self, booking: Booking) -> Outcome:
        """Delete the event with If-Match; a pending booking's event may never have existed."""
        if booking.event_id:
            try:
                await self._delete(booking.event_id, booking.etag, booking)
            except CalendarConflict:
                raise
            except CalendarError as exc:
                return await self._pending(booking, "cancel", exc, booking.event_id)
        return Outcome(await self._ledger.set_status(booking, "cancelled"))

    async def _delete(self, event_id: str, etag: str | None, booking: Booking) -> None:
        for _ in range(2):
            try:
                await self._api.run(
                    "delete",
                    lambda s: s.events().delete(
                        calendarId=self.calendar_id, eventId=event_id, sendUpdates="none"
                    ),
                    if_match=etag,
                    passthrough=frozenset({404, 410, 412}),
                )
                return
            except GoogleStatus as status:
                if status.status in (404, 410):
                    return  # already gone
            current = await self._get(event_id)
            if current is None:
                return
            if booking.status != "held" and not unchanged(current, booking):
                raise CalendarConflict()
            etag = current.get("etag")
        raise CalendarConflict()
