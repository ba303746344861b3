"""book_appointment: book a slot offered earlier in this call, for the caller."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.profile import to_e164
from bot.scheduling.errors import SchedulingError
from bot.scheduling.service import Customer, booking_code
from bot.speech import speak_phone
from tools._scheduling import (
    CLEAN,
    SlotId,
    bounded,
    count,
    over_daily_limit,
    scheduler_for,
    slot_taken,
    text_note,
)
from tools.base import Tool, error

MAX_BOOKINGS = 3  # booking attempts per call; across calls: `bot.caller_limits`

Name = Annotated[str, bounded(80), CLEAN]
Phone = Annotated[str, bounded(32), CLEAN]
Address = Annotated[str, bounded(200, min_length=5), CLEAN]
Summary = Annotated[str, bounded(300, min_length=2), CLEAN]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_id: Annotated[SlotId, Field(description="The slot_id of the chosen option.")]
    customer_name: Annotated[Name, Field(description="The caller's full name.")]
    callback_number: Annotated[
        Phone,
        Field(
            description="Number to text and call back, with country code if given, e.g. "
            "+18605550199."
        ),
    ]
    service_address: Annotated[
        Address,
        Field(description="Where the appointment is, e.g. '12 Oak Street, Bristol, CT 06010'."),
    ]
    problem_summary: Annotated[
        Summary, Field(description="A short description of the problem, in the caller's words.")
    ]


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Check the slot was offered in this call, then claim it; the result says what to tell."""
    state = session.scheduling
    offered = state.offered.get(args.slot_id)
    if offered is None:
        return error(
            "That time wasn't one I offered on this call. Check availability first and offer "
            "the caller one of the times it returns.",
            reason="unknown_slot",
        )
    if args.slot_id in state.booked:  # a repeated call (interrupted reply): book once
        return {
            "ok": True,
            "status": "already_booked",
            "booking_ref": state.booked[args.slot_id],
            "say": f"That's already booked for {offered.slot.spoken}.",
        }
    try:
        phone = to_e164(args.callback_number, session.profile.country)
    except ValueError:
        return error(
            "The callback number doesn't look right. Please ask for it again, digit by digit.",
            reason="bad_phone",
        )
    if not count(session, "book_appointment", MAX_BOOKINGS):
        return error("I can't make more bookings on this call. Offer to take a message.")
    if refusal := await over_daily_limit(session, "change"):
        return refusal
    scheduler = await scheduler_for(session)
    customer = Customer(
        name=args.customer_name,
        phone=phone,
        address=args.service_address,
        summary=args.problem_summary,
    )
    try:
        result = await scheduler.book(
            offered.slot,
            customer,
            when_text=offered.when,
            call_id=session.call_id,
            emergency=session.emergency,
        )
    except SchedulingError as exc:
        return error(exc.spoken, reason=exc.reason)
    slot = offered.slot
    if result.status == "taken":
        return slot_taken(session, result.options, offered.when, " Would one of those work?")
    assert result.booking is not None
    state.booked[args.slot_id] = result.booking.id
    state.verified.add(result.booking.id)  # the caller just gave every detail on it
    await session.emit("booking", {"status": result.status, "ref": booking_code(result.booking.id)})
    service = session.profile.service(slot.service_id)
    what = service.name if service else "appointment"
    if result.status == "pending":
        return {
            "ok": True,
            "status": "pending",
            "booked": False,
            "booking_ref": result.booking.id,
            "say": (
                f"I couldn't reach the calendar just now, so I've passed your request for "
                f"{slot.spoken} to the office, and they'll confirm it with you by text."
            ),
        }
    code = booking_code(result.booking.id)
    if result.text_refused is None:
        texted = f" A confirmation text is on its way to {speak_phone(phone)}."
    else:
        texted = text_note(result.text_refused, code)
    return {
        "ok": True,
        "status": "booked",
        "booked": True,
        "booking_ref": result.booking.id,
        "reference": code,
        "text_sent": result.text_refused is None,
        "say": f"You're booked for a {what} on {slot.spoken}.{texted}",
    }


TOOL = Tool(
    name="book_appointment",
    description=(
        "Book one of the times check_availability offered in this call, once the caller has "
        "chosen it and given their name, callback number, service address and the problem. "
        "Tell the caller exactly the 'say' text of the result; never say a booking is made "
        "unless status is 'booked'. Texts only go to mobile or landline numbers in the "
        "business's country; 'say' tells the caller when one cannot be sent."
    ),
    handler=handle,
    args=_Args,
)
