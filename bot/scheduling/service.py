"""Scheduling as the tools use it: availability, booking, lookup, rescheduling, cancelling.

`Scheduler` ties the profile's rules, a `Calendar`, the ledger and the SMS outbox together. Its
methods take plain values and return dataclasses whose `status` says exactly what happened, so a
tool can only ever speak about what was actually saved:
- `booked` / `moved` / `cancelled`: done, and the customer is texted (outbox-first);
- `pending`: the calendar could not be reached; a pending request is stored and the owner texted;
- `taken`: someone else got the slot first; `options` holds fresh ones;
- `conflict`: the owner changed the event by hand; nothing was overwritten, the owner is texted.
A customer text goes only to a number `bot.sms_policy` allows and within the caller's daily text
limit (`bot.caller_limits`); otherwise the change still stands and `text_refused` says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loguru import logger

from bot.caller_limits import CallerLimits
from bot.outbox import Outbox
from bot.profile import BusinessProfile, Service
from bot.scheduling.availability import (
    Interval,
    Options,
    Slot,
    candidate_starts,
    find_options,
)
from bot.scheduling.calendar import Calendar, Outcome
from bot.scheduling.errors import (
    BookingNotFound,
    CalendarConflict,
    CalendarError,
    SchedulingError,
    SlotTaken,
)
from bot.scheduling.identity import address_matches, code_matches, name_matches
from bot.scheduling.ledger import Booking, Ledger, booking_code, new_booking_id
from bot.scheduling.localtime import local_now, speak_slot
from bot.scheduling.when import When, parse_when
from bot.sms_policy import sms_refusal


@dataclass(frozen=True)
class Availability:
    """Options for a preference, and whether the calendar itself could be checked."""

    when: When
    options: Options
    calendar_checked: bool  # False: only local bookings were seen; the office will confirm


@dataclass(frozen=True)
class Customer:
    """What the caller told us, already validated and normalised."""

    name: str
    phone: str  # E.164
    address: str
    summary: str


@dataclass(frozen=True)
class Result:
    """What a booking, move or cancellation did (see the module docstring for `status`)."""

    status: str
    booking: Booking | None = None
    options: list[Slot] = field(default_factory=list)
    # Why the customer was not texted ("not_textable": number refused by `bot.sms_policy`;
    # "daily_text_limit"); None when the text was queued, or texts are not configured.
    text_refused: str | None = None


NEED_PROOF = (
    "To find the booking I need the name on it and either the booking code from the "
    "confirmation text or the street address or postcode."
)
NEED_MORE_PROOF = (
    "I couldn't find it with that. I'd need the name on the booking, the date of the "
    "appointment, and the street address or postcode."
)

__all__ = ["Availability", "Customer", "Result", "Scheduler", "booking_code"]


class Scheduler:
    """One business's scheduling rules over one calendar."""

    def __init__(
        self,
        profile: BusinessProfile,
        calendar: Calendar,
        ledger: Ledger,
        *,
        outbox: Outbox | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        limits: CallerLimits | None = None,
        caller: str | None = None,
    ) -> None:
        self.profile = profile
        self.calendar = calendar
        self._ledger = ledger
        self._outbox = outbox
        self._clock = clock
        self._limits = limits  # daily text limit per calling number and per destination
        self._caller = caller  # the calling number, for those limits

    def now(self) -> datetime:
        """The trusted now (UTC)."""
        return self._clock()

    # ---- services and dates ------------------------------------------------------------------

    def resolve_service(self, name: str | None) -> Service:
        """A service by id or name ('repair', 'plumbing repair'); default when not given."""
        profile = self.profile
        if not name:
            service = profile.service(profile.default_service)
            assert service is not None
            return service

        def norm(text: str) -> str:
            return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()

        key = norm(name)
        for service in profile.services:
            if key in (norm(service.id), norm(service.name)):
                return service
        matches = [s for s in profile.services if key in norm(s.name) or norm(s.name) in key]
        if len(matches) == 1:
            return matches[0]
        names = ", ".join(s.name for s in profile.services)
        raise SchedulingError(
            f"We book these services: {names}. Which one is it?", reason="unknown_service"
        )

    def parse_when(self, text: str) -> When:
        """The caller's words as a `When`, from the trusted now in the business's zone."""
        return parse_when(
            text,
            self.now(),
            self.profile.tz,
            country=self.profile.country,
            max_days_ahead=self.profile.scheduling.max_days_ahead,
        )

    # ---- availability ------------------------------------------------------------------------

    async def _busy(self, exclude: Booking | None = None) -> tuple[list[Interval], bool]:
        now = self.now()
        end = now + timedelta(days=self.profile.scheduling.max_days_ahead + 2)
        checked = True
        try:
            busy = await self.calendar.busy(now - timedelta(days=1), end)
        except CalendarError as exc:
            logger.warning("calendar busy check failed ({}); using local bookings", exc.reason)
            busy = await self._ledger.busy(self.calendar.key, now - timedelta(days=1), end)
            checked = False
        if exclude is not None:
            busy = [b for b in busy if (b.start, b.end) != (exclude.start, exclude.end)]
        return busy, checked

    async def availability(
        self,
        service: Service,
        when_text: str,
        *,
        exclude: Booking | None = None,
        skip: frozenset[datetime] = frozenset(),
    ) -> Availability:
        """Options for the caller's words (raises `DateError` for days that cannot be booked)."""
        when = self.parse_when(when_text)
        busy, checked = await self._busy(exclude)
        busy += [Interval(s, s + timedelta(minutes=service.duration_minutes)) for s in skip]
        options = find_options(self.profile, service, when, busy, self.now())
        return Availability(when, options, checked)

    def still_bookable(self, slot: Slot) -> bool:
        """The slot still obeys the rules now (notice may have run out since it was offered)."""
        rules, tz = self.profile.scheduling, self.profile.tz
        service = self.profile.service(slot.service_id)
        if service is None:
            return False
        now = self.now()
        if slot.start < now + timedelta(minutes=rules.min_notice_minutes):
            return False
        day = slot.start.astimezone(tz).date()
        if day > local_now(now, tz).date() + timedelta(days=rules.max_days_ahead):
            return False
        return slot.start in set(candidate_starts(self.profile, service, day))

    async def _fresh(
        self, slot: Slot, when_text: str, exclude: Booking | None = None
    ) -> list[Slot]:
        service = self.profile.service(slot.service_id)
        assert service is not None
        try:
            found = await self.availability(
                service, when_text, exclude=exclude, skip=frozenset({slot.start})
            )
        except SchedulingError:
            return []
        return [s for s in found.options.slots if s.start != slot.start]

    # ---- booking -----------------------------------------------------------------------------

    async def book(
        self,
        slot: Slot,
        customer: Customer,
        *,
        when_text: str,
        call_id: str | None,
        emergency: bool,
    ) -> Result:
        """Book an offered slot: `booked`, `pending` or `taken` (with fresh options)."""
        if not self.still_bookable(slot):
            return Result("taken", options=await self._fresh(slot, when_text))
        booking = Booking(
            id=new_booking_id(),
            service_id=slot.service_id,
            start=slot.start,
            end=slot.end,
            status="new",
            customer_name=customer.name,
            phone=customer.phone,
            address=customer.address,
            summary=customer.summary,
            emergency=emergency,
            call_id=call_id,
        )
        try:
            outcome = await self.calendar.book(booking)
        except SlotTaken:
            return Result("taken", options=await self._fresh(slot, when_text))
        if outcome.pending:
            await self._alert_owner(outcome, "book", "New booking request", call_id)
            return Result("pending", outcome.booking)
        refused = await self._text_customer(outcome.booking, "confirmation", call_id)
        return Result("booked", outcome.booking, text_refused=refused)

    # ---- finding a caller's bookings ---------------------------------------------------------

    async def find(
        self,
        *,
        caller_id: str | None,
        name: str,
        date_text: str | None,
        street_or_postcode: str | None,
        code: str | None = None,
    ) -> list[Booking]:
        """The caller's upcoming bookings, only with proof (see `bot.scheduling.identity`).

        Raises `SchedulingError(reason="need_more_proof")` when what was given cannot be enough,
        and `BookingNotFound` when the proof matches nothing; neither says whether anything exists.
        """
        if not code and not street_or_postcode:
            raise SchedulingError(NEED_PROOF, reason="need_more_proof")
        now = self.now()
        if caller_id:
            mine = await self._ledger.upcoming(self.calendar.key, now, phone=caller_id)
            matched = [
                b
                for b in mine
                if name_matches(name, b.customer_name) and _proved(b, code, street_or_postcode)
            ]
            if matched:
                return matched
        if not date_text or not street_or_postcode:
            raise SchedulingError(NEED_MORE_PROOF, reason="need_more_proof")
        when = parse_when(
            date_text, now, self.profile.tz, country=self.profile.country, max_days_ahead=366
        )
        if not when.single_day:
            raise SchedulingError("Which date is the appointment on?", reason="need_date")
        tz = self.profile.tz
        matched = [
            b
            for b in await self._ledger.upcoming(self.calendar.key, now)
            if b.start.astimezone(tz).date() == when.first_day
            and name_matches(name, b.customer_name)
            and address_matches(street_or_postcode, b.address)
        ]
        if not matched:
            raise BookingNotFound()
        return matched

    async def get(self, booking_id: str) -> Booking:
        """A booking by id (only for ids the caller has already proved)."""
        return await self._ledger.get(booking_id)

    # ---- changes -----------------------------------------------------------------------------

    async def reschedule(
        self, booking: Booking, slot: Slot, *, when_text: str, call_id: str | None
    ) -> Result:
        """Move a proved booking to an offered slot: `moved`, `pending`, `taken` or `conflict`."""
        if booking.status == "pending":
            return await self._office_change(booking, "reschedule", call_id, slot)
        if not self.still_bookable(slot):
            return Result("taken", booking, await self._fresh(slot, when_text, booking))
        try:
            outcome = await self.calendar.move(booking, slot.start, slot.end)
        except SlotTaken:
            return Result("taken", booking, await self._fresh(slot, when_text, booking))
        except CalendarConflict:
            await self._ledger.add_pending(
                booking, "reschedule", "owner_edited", {"to_start": slot.start.isoformat()}, call_id
            )
            await self._alert_owner(
                Outcome(booking, True),
                "reschedule",
                "Edited by hand; customer asked to move",
                call_id,
                slot,
            )
            return Result("conflict", booking)
        if outcome.pending:
            await self._alert_owner(outcome, "reschedule", "Move request", call_id, slot)
            return Result("pending", booking)
        refused = await self._text_customer(outcome.booking, "moved", call_id)
        return Result("moved", outcome.booking, text_refused=refused)

    async def cancel(self, booking: Booking, *, call_id: str | None) -> Result:
        """Cancel a proved booking: `cancelled`, `pending` or `conflict`."""
        if booking.status == "pending":
            return await self._office_change(booking, "cancel", call_id)
        try:
            outcome = await self.calendar.cancel(booking)
        except CalendarConflict:
            await self._ledger.add_pending(booking, "cancel", "owner_edited", {}, call_id)
            await self._alert_owner(
                Outcome(booking, True),
                "cancel",
                "Edited by hand; customer asked to cancel",
                call_id,
            )
            return Result("conflict", booking)
        if outcome.pending:
            await self._alert_owner(outcome, "cancel", "Cancellation request", call_id)
            return Result("pending", booking)
        refused = await self._text_customer(outcome.booking, "cancelled", call_id)
        return Result("cancelled", outcome.booking, text_refused=refused)

    async def _office_change(
        self, booking: Booking, kind: str, call_id: str | None, slot: Slot | None = None
    ) -> Result:
        """A booking still waiting for the office: the change request goes to the office too."""
        detail = {"to_start": slot.start.isoformat()} if slot else {}
        await self._ledger.add_pending(booking, kind, "booking_pending", detail, call_id)
        label = "Move request" if kind == "reschedule" else "Cancellation request"
        await self._alert_owner(Outcome(booking, True), kind, label, call_id, slot)
        return Result("pending", booking)

    # ---- texts -------------------------------------------------------------------------------

    async def _text_customer(self, booking: Booking, kind: str, call_id: str | None) -> str | None:
        """One SMS per booking and kind (and new time). No service or problem: no clinical detail.

        Returns why no text was queued (see `Result.text_refused`), else None.
        """
        if self._outbox is None:
            return None
        if sms_refusal(booking.phone, self.profile.sms_regions) is not None:
            logger.info("booking {} text not sent: number not textable", kind)
            return "not_textable"
        if self._limits is not None and not await self._limits.take(
            "text", self._caller, target=booking.phone, call_id=call_id
        ):
            logger.info("booking {} text not sent: daily text limit", kind)
            return "daily_text_limit"
        when = speak_slot(booking.start, self.profile.tz)
        what = {
            "confirmation": f"your appointment is booked for {when}.",
            "moved": f"your appointment has been moved to {when}.",
            "cancelled": f"your appointment for {when} has been cancelled.",
        }[kind]
        body = (
            f"{self.profile.name}: {what} Booking code {booking_code(booking.id)}. "
            f"Questions? Call {self.profile.phone}."
        )
        key = f"booking:{booking.id}:{kind}"
        if kind == "moved":
            key += f":{booking.start.isoformat()}"
        await self._outbox.send(
            key=key, kind=f"booking_{kind}", to=booking.phone, body=body, call_id=call_id
        )
        return None

    async def _alert_owner(
        self,
        outcome: Outcome,
        kind: str,
        label: str,
        call_id: str | None,
        slot: Slot | None = None,
    ) -> None:
        """Tell the owner a request needs them (calendar unreachable or edited by hand)."""
        if self._outbox is None:
            return
        booking, tz = outcome.booking, self.profile.tz
        service = self.profile.service(booking.service_id)
        wanted = f" to {speak_slot(slot.start, tz)}" if slot else ""
        body = (
            f"{self.profile.name} receptionist: {label} needs you (calendar not updated). "
            f"Ref {booking_code(booking.id)}, {service.name if service else booking.service_id}, "
            f"{speak_slot(booking.start, tz)}{wanted}. Customer {booking.customer_name}, "
            f"{booking.phone}. Please confirm with them by text."
        )
        suffix = slot.start.isoformat() if slot else ""
        await self._outbox.text_owners(
            self.profile.owner.phones,
            key=f"booking:{booking.id}:owner_{kind}:{suffix}",
            kind="booking_owner_alert",
            body=body,
            call_id=call_id,
        )


def _proved(booking: Booking, code: str | None, street_or_postcode: str | None) -> bool:
    """The booking code, or the street or postcode, given is this booking's."""
    if code is not None and code_matches(code, booking_code(booking.id)):
        return True
    return street_or_postcode is not None and address_matches(street_or_postcode, booking.address)
