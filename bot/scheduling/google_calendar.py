"""Google Calendar as the business's calendar, with no double booking despite no transactions.

Four layers (see notes/reliability.md §2.1), in order, for every booking:
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

`google-api-python-client` is blocking and httplib2 is not thread-safe, so each call runs in
`asyncio.to_thread` with one `Http` (and one service object) per worker thread. Retries are ours
(tenacity), never the client's: 429, 5xx, rate-limit 403s, timeouts and connection errors are
retried with jittered backoff inside a total budget a caller on the line can wait; 400 and
permission errors are never retried. When the budget runs out the booking is kept as a pending
request and the office is told (`Outcome(pending=True)`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from loguru import logger
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

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
from bot.scheduling.ledger import Booking, Ledger

SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
)
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
SOURCE = "receptionist"
FREEBUSY_DAYS = 28  # longest window asked of freeBusy at once


class GoogleStatus(Exception):
    """An HTTP status the caller of `GoogleApi.run` asked to handle itself (404, 409, 412...)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"http {status} {reason}")
        self.status = status
        self.reason = reason


def event_id_for(calendar_id: str, booking_id: str) -> str:
    """Deterministic event id: lowercase base32hex (a-v, 0-9), 32 characters."""
    digest = hashlib.sha256(f"{calendar_id}|{booking_id}".encode()).digest()
    return base64.b32hexencode(digest).decode().lower().rstrip("=")[:32]


def _reason(exc: HttpError) -> str:
    try:
        errors = json.loads(exc.content.decode("utf-8"))["error"].get("errors") or []
        return str(errors[0].get("reason", "")) if errors else ""
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return ""


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: 429, 5xx, rate-limit 403s, timeouts and connection failures."""
    if isinstance(exc, HttpError):
        status = exc.resp.status
        return (
            status == 429 or status >= 500 or (status == 403 and _reason(exc) in RATE_LIMIT_REASONS)
        )
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return bool(getattr(exc, "retryable", False))
    return isinstance(
        exc,
        TimeoutError
        | OSError
        | httplib2.HttpLib2Error
        | http.client.HTTPException
        | google.auth.exceptions.TransportError,
    )


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class GoogleApi:
    """Blocking Calendar API calls made safe for the event loop, with a retry budget."""

    def __init__(
        self,
        *,
        calendar_id: str,
        base_url: str,
        credentials: Any | None,
        timeout_secs: float,
        budget_secs: float,
        max_attempts: int = 4,
    ) -> None:
        self.calendar_id = calendar_id
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._credentials = credentials
        self._timeout = timeout_secs
        self._budget = budget_secs
        self._max_attempts = max_attempts
        self._local = threading.local()

    @classmethod
    def from_service_account(
        cls,
        path: Path,
        *,
        calendar_id: str,
        base_url: str,
        timeout_secs: float,
        budget_secs: float,
    ) -> GoogleApi:
        """Credentials from a service-account JSON key; its `token_uri` is where tokens come from."""
        credentials = service_account.Credentials.from_service_account_file(
            str(path), scopes=list(SCOPES)
        )
        return cls(
            calendar_id=calendar_id,
            base_url=base_url,
            credentials=credentials,
            timeout_secs=timeout_secs,
            budget_secs=budget_secs,
        )

    def _service(self) -> Any:
        """This thread's own service object (httplib2 is not thread-safe)."""
        service = getattr(self._local, "service", None)
        if service is None:
            http: Any = httplib2.Http(timeout=self._timeout)
            if self._credentials is not None:
                http = google_auth_httplib2.AuthorizedHttp(self._credentials, http=http)
            service = build(
                "calendar",
                "v3",
                http=http,
                cache_discovery=False,
                static_discovery=True,
                client_options={"api_endpoint": self._base_url},
            )
            self._local.service = service
        return service

    async def run(
        self,
        what: str,
        make: Callable[[Any], Any],
        *,
        if_match: str | None = None,
        passthrough: frozenset[int] = frozenset(),
    ) -> Any:
        """Build a request with `make(service)` in a worker thread and execute it, with retries.

        Statuses in `passthrough` raise `GoogleStatus` for the caller to handle. Otherwise a
        transient failure past the budget raises `CalendarUnavailable`, and a permanent one
        `CalendarRejected`.
        """

        def attempt() -> Any:
            request = make(self._service())
            if if_match:
                request.headers["If-Match"] = if_match
            return request.execute(num_retries=0)

        started = time.monotonic()
        retrying = AsyncRetrying(
            stop=stop_before_delay(self._budget) | stop_after_attempt(self._max_attempts),
            wait=wait_random_exponential(multiplier=0.25, max=1.0),
            retry=retry_if_exception(
                lambda e: (
                    is_transient(e)
                    and not (isinstance(e, HttpError) and e.resp.status in passthrough)
                )
            ),
            reraise=True,
        )
        try:
            async for step in retrying:
                with step:
                    remaining = self._budget - (time.monotonic() - started)
                    if remaining <= 0:
                        raise TimeoutError("calendar budget spent")
                    return await asyncio.wait_for(asyncio.to_thread(attempt), remaining)
        except HttpError as exc:
            status = exc.resp.status
            if status in passthrough:
                raise GoogleStatus(status, _reason(exc)) from None
            logger.warning("google calendar {} failed: http {} {}", what, status, _reason(exc))
            if is_transient(exc):
                raise CalendarUnavailable(f"http {status}") from None
            raise CalendarRejected(f"http {status} {_reason(exc)}") from None
        except Exception as exc:
            if is_transient(exc):
                logger.warning("google calendar {} unreachable: {}", what, type(exc).__name__)
                raise CalendarUnavailable(type(exc).__name__) from None
            if isinstance(exc, google.auth.exceptions.GoogleAuthError):
                logger.error("google calendar {}: credentials refused", what)
                raise CalendarRejected("auth") from None
            raise
        raise CalendarUnavailable("no attempt made")  # pragma: no cover - the loop returns


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
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "items": [{"id": self.calendar_id}],
        }
        result = await self._api.run("freebusy", lambda s: s.freebusy().query(body=body))
        entry = (result.get("calendars") or {}).get(self.calendar_id) or {}
        if entry.get("errors"):
            reason = str(entry["errors"][0].get("reason", "unknown"))
            logger.error("google calendar freebusy: calendar error {}", reason)
            raise CalendarRejected(f"freebusy {reason}")
        return [
            Interval(_parse_time(b["start"]), _parse_time(b["end"])) for b in entry.get("busy", [])
        ]

    async def _events_around(self, start: datetime, end: datetime) -> list[dict]:
        result = await self._api.run(
            "list",
            lambda s: s.events().list(
                calendarId=self.calendar_id,
                timeMin=_rfc3339(start - self._buffer),
                timeMax=_rfc3339(end + self._buffer),
                singleEvents=True,
                maxResults=250,
            ),
        )
        return list(result.get("items") or [])

    async def _get(self, event_id: str) -> dict | None:
        try:
            return await self._api.run(
                "get",
                lambda s: s.events().get(calendarId=self.calendar_id, eventId=event_id),
                passthrough=frozenset({404, 410}),
            )
        except GoogleStatus:
            return None

    # ---- the event -----------------------------------------------------------------------------

    def event_body(self, booking: Booking) -> dict:
        """Title, times with the business's zone, address, description and private tags."""
        profile, tz = self._profile, self._profile.tz
        service = profile.service(booking.service_id)
        service_name = service.name if service else booking.service_id
        description = "\n".join(
            [
                f"Problem: {booking.summary}",
                f"Callback: {booking.phone}",
                f"Emergency: {'yes' if booking.emergency else 'no'}",
                f"Call: {booking.call_id or '-'}",
                f"Booking ref: {booking.id[:6].upper()} (booked by the AI receptionist)",
            ]
        )
        return {
            "id": event_id_for(self.calendar_id, booking.id),
            "summary": f"{profile.name} - {service_name.capitalize()} - {booking.customer_name}",
            "location": booking.address,
            "description": description,
            "start": {
                "dateTime": booking.start.astimezone(tz).isoformat(),
                "timeZone": profile.timezone,
            },
            "end": {
                "dateTime": booking.end.astimezone(tz).isoformat(),
                "timeZone": profile.timezone,
            },
            "status": "confirmed",
            "extendedProperties": {"private": {"booking_id": booking.id, "source": SOURCE}},
        }

    @staticmethod
    def _booking_id_of(event: dict) -> str | None:
        return ((event.get("extendedProperties") or {}).get("private") or {}).get("booking_id")

    def _blocks(self, event: dict, booking: Booking) -> bool:
        """Does another event occupy time within the buffer of this booking?"""
        if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
            return False
        if self._booking_id_of(event) == booking.id:
            return False
        start, end = event.get("start") or {}, event.get("end") or {}
        if "dateTime" not in start or "dateTime" not in end:
            return True  # an all-day event blocks the whole day
        return (
            _parse_time(start["dateTime"]) < booking.end + self._buffer
            and _parse_time(end["dateTime"]) > booking.start - self._buffer
        )

    # ---- book ----------------------------------------------------------------------------------

    async def book(self, booking: Booking) -> Outcome:
        """Ledger claim, hand-made-event check, idempotent insert, re-check; else pending."""
        held = await self._ledger.claim(self.key, booking, self._buffer)
        event_id = event_id_for(self.calendar_id, held.id)
        try:
            if any(self._blocks(e, held) for e in await self._events_around(held.start, held.end)):
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

    async def _insert(self, booking: Booking) -> dict:
        body = self.event_body(booking)
        try:
            return await self._api.run(
                "insert",
                lambda s: s.events().insert(
                    calendarId=self.calendar_id, body=body, sendUpdates="none"
                ),
                passthrough=frozenset({409}),
            )
        except GoogleStatus:
            pass
        # 409: an event with our id exists. Ours (a retried insert whose answer was lost)?
        existing = await self._get(body["id"])
        if existing is None or self._booking_id_of(existing) != booking.id:
            raise CalendarRejected("event id collision")
        if existing.get("status") == "cancelled":
            return await self._api.run(
                "update",
                lambda s: s.events().update(
                    calendarId=self.calendar_id, eventId=body["id"], body=body, sendUpdates="none"
                ),
                if_match=existing.get("etag"),
            )
        return existing

    async def _recheck(self, booking: Booking, ours: dict) -> None:
        """Layer 4: if an overlapping event came first (or by hand), withdraw ours."""
        rivals = [
            e
            for e in await self._events_around(booking.start, booking.end)
            if self._blocks(e, booking)
        ]
        mine = (ours.get("created") or "", ours.get("id") or "")

        def came_first(event: dict) -> bool:
            if self._booking_id_of(event) is None:
                return True  # added by hand: the owner's calendar wins
            return (event.get("created") or "", event.get("id") or "") < mine

        if any(came_first(e) for e in rivals):
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
            if any(self._blocks(e, moved) for e in await self._events_around(start, end)):
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

    def _unchanged(self, event: dict | None, booking: Booking) -> bool:
        """True if the event still has the times we booked (the owner did not move or drop it)."""
        if event is None or event.get("status") == "cancelled":
            return False
        try:
            start = _parse_time(event["start"]["dateTime"])
            end = _parse_time(event["end"]["dateTime"])
        except (KeyError, TypeError, ValueError):
            return False
        return start == booking.start and end == booking.end

    async def _patch_times(self, booking: Booking, moved: Booking) -> dict:
        tz = self._profile.timezone
        body = {
            "start": {
                "dateTime": moved.start.astimezone(self._profile.tz).isoformat(),
                "timeZone": tz,
            },
            "end": {"dateTime": moved.end.astimezone(self._profile.tz).isoformat(), "timeZone": tz},
        }
        event_id, etag = booking.event_id, booking.etag
        for _ in range(2):
            try:
                return await self._api.run(
                    "patch",
                    lambda s, eid=event_id: s.events().patch(
                        calendarId=self.calendar_id, eventId=eid, body=body, sendUpdates="none"
                    ),
                    if_match=etag,
                    passthrough=frozenset({404, 410, 412}),
                )
            except GoogleStatus as status:
                if status.status != 412:
                    raise CalendarConflict() from None
            current = await self._get(event_id or "")
            if not self._unchanged(current, booking):
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
            if booking.status != "held" and not self._unchanged(current, booking):
                raise CalendarConflict()
            etag = current.get("etag")
        raise CalendarConflict()
