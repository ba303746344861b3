"""The owner's view of the schedule, for the ear: the count first, then times and names."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from bot.profile import BusinessProfile
from bot.scheduling.ledger import Booking, Ledger
from bot.scheduling.when import When
from bot.speech import speak_time


def _window(when: When, profile: BusinessProfile) -> tuple[datetime, datetime]:
    tz = profile.tz
    start = datetime.combine(when.first_day, time(0), tz)
    end = datetime.combine(when.last_day + timedelta(days=1), time(0), tz)
    return start, end


async def bookings_in(
    ledger: Ledger, calendar_key: str, when: When, profile: BusinessProfile
) -> list[Booking]:
    """Confirmed and pending bookings whose start falls within the owner's `when`."""
    start, end = _window(when, profile)
    found = await ledger.upcoming(calendar_key, start - timedelta(seconds=1))
    return [b for b in found if b.start < end and when.admits(b.start.astimezone(profile.tz))]


def describe_booking(booking: Booking, profile: BusinessProfile, *, with_day: bool) -> str:
    """'8 AM, John Smith, plumbing repair, at 12 Elm Street' (+ the day when asked)."""
    local = booking.start.astimezone(profile.tz)
    service = profile.service(booking.service_id)
    what = service.name if service else booking.service_id
    when = speak_time(local)
    if with_day:
        when = f"{local.strftime('%A')} {when}"
    flags = ", emergency" if booking.emergency else ""
    pending = ", not yet confirmed in the calendar" if booking.status == "pending" else ""
    return f"{when}, {booking.customer_name}, {what}{flags}{pending}, at {booking.address}"


def schedule_report(
    bookings: list[Booking], when: When, profile: BusinessProfile
) -> dict[str, Any]:
    """The spoken schedule for a day or a range."""
    if not bookings:
        return {"count": 0, "spoken": f"Nothing booked {when.described}."}
    noun = "appointment" if len(bookings) == 1 else "appointments"
    items = "; ".join(describe_booking(b, profile, with_day=not when.single_day) for b in bookings)
    return {"count": len(bookings), "spoken": f"{len(bookings)} {noun} {when.described}: {items}."}
