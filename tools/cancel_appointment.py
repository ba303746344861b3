"""cancel_appointment: cancel the caller's proved booking."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.scheduling.errors import SchedulingError
from bot.scheduling.localtime import speak_slot
from tools._scheduling import (
    MAX_CHANGES,
    BookingRef,
    count,
    over_daily_limit,
    scheduler_for,
    text_note,
    unverified,
)
from tools.base import Tool, error


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    booking_ref: Annotated[BookingRef, Field(description="booking_ref from find_my_appointments.")]


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Only a booking the caller proved in this call; the office hears of anything unfinished."""
    if refusal := unverified(session, args.booking_ref):
        return refusal
    if not count(session, "cancel_appointment", MAX_CHANGES):
        return error("I can't make more changes on this call. Offer to take a message.")
    if refusal := await over_daily_limit(session, "change"):
        return refusal
    scheduler = await scheduler_for(session)
    try:
        booking = await scheduler.get(args.booking_ref)
        if booking.status == "cancelled":
            return {
                "ok": True,
                "status": "already_cancelled",
                "say": "That appointment is already cancelled.",
            }
        if booking.status not in ("confirmed", "pending"):
            return error("That appointment is no longer active.", reason="not_active")
        result = await scheduler.cancel(booking, call_id=session.call_id)
    except SchedulingError as exc:
        return error(exc.spoken, reason=exc.reason)
    when = speak_slot(booking.start, session.profile.tz)
    if result.status == "conflict":
        return error(
            "The office has changed this appointment recently, so I can't cancel it from here. "
            "I've let them know you'd like to cancel, and they'll be in touch.",
            reason="owner_edited",
        )
    if result.status == "pending":
        return {
            "ok": True,
            "status": "pending",
            "cancelled": False,
            "say": (
                "I couldn't update the calendar just now, so I've passed your cancellation of "
                f"{when} to the office, and they'll confirm it with you by text."
            ),
        }
    return {
        "ok": True,
        "status": "cancelled",
        "cancelled": True,
        "say": f"Your appointment on {when} is cancelled."
        + (text_note(result.text_refused) or " You'll get a text to confirm."),
    }


TOOL = Tool(
    name="cancel_appointment",
    description=(
        "Cancel the caller's appointment (a booking_ref from find_my_appointments) once they "
        "have confirmed they want it cancelled. Tell the caller the 'say' text; never say it is "
        "cancelled unless status is 'cancelled'."
    ),
    handler=handle,
    args=_Args,
)
