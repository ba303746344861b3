"""check_availability: bookable times for a service, from the caller's own words about when."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.scheduling.errors import BookingNotFound, SchedulingError
from tools._scheduling import CLEAN, BookingRef, bounded, count, list_times, offer, scheduler_for
from tools.base import Tool, error

MAX_CALLS = 12  # per call; a loop of availability checks is the LLM misbehaving

Words = Annotated[str, bounded(120), CLEAN]
ServiceName = Annotated[str, bounded(60), CLEAN]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: Annotated[
        Words,
        Field(description="The caller's words about the day and time, e.g. 'tomorrow afternoon'."),
    ] = "earliest available"
    service: Annotated[
        ServiceName | None,
        Field(
            description="Which service, by name, e.g. 'plumbing repair'. Omit for the usual one."
        ),
    ] = None
    booking_ref: Annotated[
        BookingRef | None,
        Field(
            description="When moving an existing booking: its booking_ref from "
            "find_my_appointments, so its own time counts as free."
        ),
    ] = None


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Resolve the caller's words in code, then offer up to three slots (or the nearest ones)."""
    if not count(session, "check_availability", MAX_CALLS):
        return error("I've looked up a lot of times on this call. Offer to take a message.")
    scheduler = await scheduler_for(session)
    try:
        exclude = None
        if args.booking_ref is not None:
            if args.booking_ref not in session.scheduling.verified:
                raise BookingNotFound()
            exclude = await scheduler.get(args.booking_ref)
        service = scheduler.resolve_service(
            args.service or (exclude.service_id if exclude else None)
        )
        found = await scheduler.availability(service, args.when, exclude=exclude)
    except SchedulingError as exc:
        return error(exc.spoken, reason=exc.reason)
    slots = found.options.slots
    options = offer(session, slots, args.when)
    if not slots:
        say = (
            f"I'm sorry, there's nothing free for a {service.name} in the next "
            f"{session.profile.scheduling.max_days_ahead} days. I can take a message for the team."
        )
    elif found.options.exact:
        say = f"For {found.when.described}, I have {list_times(slots)}. Which would suit you?"
    else:
        say = (
            f"I don't have anything {found.when.described}. The nearest times I have are "
            f"{list_times(slots)}. Would one of those work?"
        )
    result: dict[str, Any] = {
        "ok": True,
        "service": service.name,
        "duration_minutes": service.duration_minutes,
        "looked_for": found.when.described,
        "exact_match": found.options.exact,
        "options": options,
        "say": say,
    }
    if not found.calendar_checked:
        result["note"] = (
            "The calendar could not be checked just now. If the caller picks a time, book it; "
            "the office will confirm it by text."
        )
    return result


TOOL = Tool(
    name="check_availability",
    description=(
        "Find bookable appointment times. Pass the caller's own words about when (for example "
        "'tomorrow afternoon', 'next Tuesday after 5', 'the earliest you have', 'March 3rd at 2 "
        "PM'); never work out dates yourself. Offer the caller only the times returned, using "
        "the 'say' text. Each option has a slot_id to book with."
    ),
    handler=handle,
    args=_Args,
)
