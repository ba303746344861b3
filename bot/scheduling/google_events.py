"""Bookings as Google Calendar events, and what an event on the calendar means for a booking.

Invariant: pure functions of their arguments (no I/O, no clock): the event we write for a
booking, its deterministic id, whether another event blocks a booking's time (buffer included),
whether the owner left our event's times alone, and which of two overlapping events came first.
Times are written in the business's zone and compared as UTC instants.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.profile import BusinessProfile
from bot.scheduling.ledger import Booking, booking_code

SOURCE = "receptionist"  # the `source` private property on every event we write


def event_id_for(calendar_id: str, booking_id: str) -> str:
    """Deterministic event id: lowercase base32hex (a-v, 0-9), 32 characters."""
    digest = hashlib.sha256(f"{calendar_id}|{booking_id}".encode()).digest()
    return base64.b32hexencode(digest).decode().lower().rstrip("=")[:32]


def rfc3339(dt: datetime) -> str:
    """An instant as the API's UTC timestamp: '2026-12-08T15:00:00Z'."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """An API timestamp (any offset, or 'Z') as an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def times_body(profile: BusinessProfile, start: datetime, end: datetime) -> dict[str, Any]:
    """The event's `start` and `end`, as local times with the business's zone."""
    tz = profile.tz
    return {
        "start": {"dateTime": start.astimezone(tz).isoformat(), "timeZone": profile.timezone},
        "end": {"dateTime": end.astimezone(tz).isoformat(), "timeZone": profile.timezone},
    }


def event_body(profile: BusinessProfile, calendar_id: str, booking: Booking) -> dict[str, Any]:
    """Title, times with the business's zone, address, description and private tags."""
    service = profile.service(booking.service_id)
    service_name = service.name if service else booking.service_id
    description = "\n".join(
        [
            f"Problem: {booking.summary}",
            f"Callback: {booking.phone}",
            f"Emergency: {'yes' if booking.emergency else 'no'}",
            f"Call: {booking.call_id or '-'}",
            f"Booking code: {booking_code(booking.id)} (booked by the AI receptionist)",
        ]
    )
    return {
        "id": event_id_for(calendar_id, booking.id),
        "summary": f"{profile.name} - {service_name.capitalize()} - {booking.customer_name}",
        "location": booking.address,
        "description": description,
        **times_body(profile, booking.start, booking.end),
        "status": "confirmed",
        "extendedProperties": {"private": {"booking_id": booking.id, "source": SOURCE}},
    }


def booking_id_of(event: dict[str, Any]) -> str | None:
    """The booking id we tagged the event with; None for an event made by hand."""
    return ((event.get("extendedProperties") or {}).get("private") or {}).get("booking_id")


def blocks(event: dict[str, Any], booking: Booking, buffer: timedelta) -> bool:
    """Does another event occupy time within the buffer of this booking?"""
    if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
        return False
    if booking_id_of(event) == booking.id:
        return False
    start, end = event.get("start") or {}, event.get("end") or {}
    if "dateTime" not in start or "dateTime" not in end:
        return True  # an all-day event blocks the whole day
    return (
        parse_time(start["dateTime"]) < booking.end + buffer
        and parse_time(end["dateTime"]) > booking.start - buffer
    )


def unchanged(event: dict[str, Any] | None, booking: Booking) -> bool:
    """True if the event still has the times we booked (the owner did not move or drop it)."""
    if event is None or event.get("status") == "cancelled":
        return False
    try:
        start = parse_time(event["start"]["dateTime"])
        end = parse_time(event["end"]["dateTime"])
    except (KeyError, TypeError, ValueError):
        return False
    return start == booking.start and end == booking.end


def came_first(event: dict[str, Any], ours: dict[str, Any]) -> bool:
    """Whether `event` wins the slot over our event `ours`.

    One added by hand always does; between ours, the earlier `created`, then the smaller id.
    """
    if booking_id_of(event) is None:
        return True  # added by hand: the owner's calendar wins
    mine = (ours.get("created") or "", ours.get("id") or "")
    return (event.get("created") or "", event.get("id") or "") < mine
