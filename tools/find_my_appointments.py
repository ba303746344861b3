"""find_my_appointments: the caller's own upcoming bookings, only once they prove who they are.

Proof (see `bot.scheduling.identity`): caller ID + name + booking code or street/postcode, or
name + date + street/postcode. Lookups are capped per call and per calling number per day.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.scheduling.errors import SchedulingError
from bot.scheduling.localtime import speak_slot
from tools._scheduling import CLEAN, bounded, count, over_daily_limit, scheduler_for
from tools.base import Tool, error

MAX_LOOKUPS = 4  # per call: enough for a misheard name, too few to guess other customers

Name = Annotated[str, bounded(80), CLEAN]
DateWords = Annotated[str, bounded(60), CLEAN]
StreetOrPostcode = Annotated[str, bounded(120, min_length=2), CLEAN]
BookingCode = Annotated[str, bounded(40, min_length=4), CLEAN]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_name: Annotated[Name, Field(description="The name on the booking.")]
    appointment_date: Annotated[
        DateWords | None,
        Field(description="The caller's words for the appointment's day, e.g. 'next Tuesday'."),
    ] = None
    street_or_postcode: Annotated[
        StreetOrPostcode | None,
        Field(description="The street address (house number and street) or the postcode/ZIP."),
    ] = None
    booking_code: Annotated[
        BookingCode | None,
        Field(description="The six-digit booking code from the confirmation text, e.g. '417209'."),
    ] = None


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Caller ID + name + code or street, or name + date + street; else ask, revealing nothing."""
    if not count(session, "find_my_appointments", MAX_LOOKUPS):
        return error(
            "I can't look that up again on this call. Offer to take a message so the office can "
            "help.",
            reason="too_many_lookups",
        )
    if refusal := await over_daily_limit(session, "lookup"):
        return refusal
    scheduler = await scheduler_for(session)
    try:
        bookings = await scheduler.find(
            caller_id=session.caller,
            name=args.customer_name,
            date_text=args.appointment_date,
            street_or_postcode=args.street_or_postcode,
            code=args.booking_code,
        )
    except SchedulingError as exc:
        return error(exc.spoken, reason=exc.reason)
    tz = session.profile.tz
    appointments = []
    for booking in bookings[:5]:
        session.scheduling.verified.add(booking.id)
        service = session.profile.service(booking.service_id)
        appointments.append(
            {
                "booking_ref": booking.id,
                "service": service.name if service else booking.service_id,
                "time": speak_slot(booking.start, tz),
                "status": "waiting for the office to confirm"
                if booking.status == "pending"
                else "booked",
            }
        )
    said = "; ".join(f"a {a['service']} on {a['time']}" for a in appointments)
    return {
        "ok": True,
        "appointments": appointments,
        "say": f"I found {said}.",
    }


TOOL = Tool(
    name="find_my_appointments",
    description=(
        "Find the caller's own upcoming appointments before moving or cancelling one. Ask for "
        "the name on the booking and the booking code from their confirmation text (or, if "
        "they don't have it, the street address or postcode). If the result asks for more "
        "proof, ask the caller for what it names, then call again. Never guess details for "
        "the caller."
    ),
    handler=handle,
    args=_Args,
)
