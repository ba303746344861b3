"""reschedule_appointment: move the caller's proved booking to a slot offered in this call."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.scheduling.errors import SchedulingError
from tools._scheduling import (
    MAX_CHANGES,
    BookingRef,
    SlotId,
    count,
    over_daily_limit,
    scheduler_for,
    slot_taken,
    text_note,
    unverified,
)
from tools.base import Tool, error


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    booking_ref: Annotated[BookingRef, Field(description="booking_ref from find_my_appointments.")]
    slot_id: Annotated[SlotId, Field(description="slot_id of the new time the caller chose.")]


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Only a booking the caller proved, only to a time offered in this call."""
    state = session.scheduling
    if refusal := unverified(session, args.booking_ref):
        return refusal
    offered = state.offered.get(args.slot_id)
    if offered is None:
        return error(
            "That time wasn't one I offered on this call. Check availability first.",
            reason="unknown_slot",
        )
    if not count(session, "reschedule_appointment", MAX_CHANGES):
        return error("I can't make more changes on this call. Offer to take a message.")
    if refusal := await over_daily_limit(session, "change"):
        return refusal
    scheduler = await scheduler_for(session)
    try:
        booking = await scheduler.get(args.booking_ref)
        if booking.status not in ("confirmed", "pending"):
            return error("That appointment is no longer active.", reason="not_active")
        if booking.start == offered.slot.start:
            return error("That's already the time of this appointment.", reason="same_time")
        if booking.service_id != offered.slot.service_id:
            return error(
                "That time was found for a different service. Check availability again with "
                "this booking's booking_ref.",
                reason="wrong_service",
            )
        result = await scheduler.reschedule(
            booking, offered.slot, when_text=offered.when, call_id=session.call_id
        )
    except SchedulingError as exc:
        return error(exc.spoken, reason=exc.reason)
    spoken = offered.slot.spoken
    if result.status == "taken":
        return slot_taken(session, result.options, offered.when)
    if result.status == "conflict":
        return error(
            "The office has changed this appointment recently, so I can't move it from here. "
            "I've let them know you'd like "
            f"{spoken}, and they'll be in touch.",
            reason="owner_edited",
        )
    if result.status == "pending":
        return {
            "ok": True,
            "status": "pending",
            "moved": False,
            "say": (
                "I couldn't update the calendar just now, so I've passed your request to move "
                f"it to {spoken} to the office, and they'll confirm it with you by text."
            ),
        }
    return {
        "ok": True,
        "status": "moved",
        "moved": True,
        "say": f"Done. Your appointment is moved to {spoken}."
        + (text_note(result.text_refused) or " You'll get a text to confirm."),
    }


TOOL = Tool(
    name="reschedule_appointment",
    description=(
        "Move the caller's appointment (a booking_ref from find_my_appointments) to a new time "
        "offered by check_availability in this call. Tell the caller the 'say' text; never say "
        "it has moved unless status is 'moved'."
    ),
    handler=handle,
    args=_Args,
)
