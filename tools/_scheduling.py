"""What the five scheduling tools share: the call's `Scheduler`, argument types, spoken options."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

from bot.call_session import CallSession
from bot.caller_limits import CallerLimits
from bot.scheduling.availability import Slot
from bot.scheduling.errors import SchedulingError
from bot.scheduling.ledger import Booking
from bot.scheduling.owner_view import bookings_in
from bot.scheduling.service import Scheduler
from bot.scheduling.state import Offered
from bot.scheduling.when import When
from bot.speech import speak_code
from tools.base import error

MAX_CHANGES = 3  # reschedules, and cancellations, per call; across calls: `bot.caller_limits`
_DAILY_LIMIT_SAY = {
    "change": "This number has made as many bookings and changes by phone as we can take today.",
    "lookup": "I can't look up any more bookings for this number today.",
}


def _clean(value: str) -> str:
    text = re.sub(r"\s+", " ", "".join(ch if ch.isprintable() else " " for ch in value)).strip()
    if not text:
        raise ValueError("is empty")
    return text


# A string argument is `Annotated[str, bounded(n), CLEAN]`: bounded, control characters stripped,
# whitespace collapsed. Written out at each use so type checkers see a type.
CLEAN = AfterValidator(_clean)


def bounded(max_length: int, min_length: int = 1) -> StringConstraints:
    """Length bounds for a string argument, measured after surrounding whitespace is stripped."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def _slot_id(value: str) -> str:
    if not re.fullmatch(r"slot-[a-z2-7]{8}", value):
        raise ValueError("it must be a slot_id that check_availability returned")
    return value


def _booking_ref(value: str) -> str:
    if not re.fullmatch(r"[0-9a-v]{16}", value):
        raise ValueError("it must be a booking_ref that find_my_appointments returned")
    return value


SlotId = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(_slot_id)
]
BookingRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=40),
    AfterValidator(_booking_ref),
]


async def scheduler_for(session: CallSession) -> Scheduler:
    """The call's scheduler over its business's calendar and ledger, on the call's clock."""
    business = session.business
    return Scheduler(
        business.profile,
        business.calendar,
        business.ledger,
        outbox=session.outbox,
        clock=session.scheduling.clock,
        limits=CallerLimits.from_settings(session.store, session.settings),
        caller=session.caller,
    )


async def over_daily_limit(session: CallSession, action: str) -> dict[str, Any] | None:
    """Count one `action` for the calling number; the refusal once it is over its daily limit."""
    limits = CallerLimits.from_settings(session.store, session.settings)
    if await limits.take(action, session.caller, call_id=session.call_id):
        return None
    return error(
        f"{_DAILY_LIMIT_SAY[action]} Offer to take a message so the office can help.",
        reason="daily_limit",
    )


def text_note(refused: str | None, code: str | None = None) -> str:
    """What to tell the caller about the text that did not go (empty when it went)."""
    if refused is None:
        return ""
    if refused == "daily_text_limit":
        say = " I can't send any more texts to that number today"
    else:
        say = " I can't send a text to that number"
    if code is None:
        return say + "."
    return say + f", so please note your booking code: {speak_code(code)}."


def offer(session: CallSession, slots: list[Slot], when: str) -> list[dict[str, str]]:
    """Remember the slots as offered in this call and return them for the LLM."""
    for slot in slots:
        session.scheduling.offered[slot.id] = Offered(slot, when)
    return [{"slot_id": slot.id, "time": slot.spoken} for slot in slots]


def list_times(slots: list[Slot]) -> str:
    """'A, B, or C'."""
    times = [slot.spoken for slot in slots]
    if len(times) <= 1:
        return "".join(times)
    return ", ".join(times[:-1]) + ", or " + times[-1]


def unverified(session: CallSession, booking_ref: str) -> dict[str, Any] | None:
    """The refusal for a booking the caller has not proved in this call, else None."""
    if booking_ref in session.scheduling.verified:
        return None
    return error(
        "I need to find the booking first. Ask for the name on it and use find_my_appointments.",
        reason="not_verified",
    )


def slot_taken(
    session: CallSession, options: list[Slot], when: str, ask: str = ""
) -> dict[str, Any]:
    """The answer when the chosen time went to someone else: sorry, and fresh options offered."""
    offered = offer(session, options, when)
    say = "I'm sorry, that time was just taken."
    if options:
        say += f" I can do {list_times(options)} instead.{ask}"
    return error(say, reason="slot_taken", options=offered, say=say)


def count(session: CallSession, tool: str, limit: int) -> bool:
    """Count one call of `tool`; False once this call has used it `limit` times."""
    session.scheduling.attempts[tool] += 1
    return session.scheduling.attempts[tool] <= limit


async def owner_bookings(
    session: CallSession, words: str
) -> tuple[When, list[Booking], Scheduler] | str:
    """The bookings in the window the owner named, or a speakable reason it can't be read."""
    scheduler = await scheduler_for(session)
    try:
        when = scheduler.parse_when(words)
    except SchedulingError as exc:
        return exc.spoken
    found = await bookings_in(
        session.business.ledger, scheduler.calendar.key, when, session.profile
    )
    return when, found, scheduler
