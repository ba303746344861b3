"""owner_schedule: what is booked on a day or over a few days. Owner calls only."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.call_session import CallSession
from bot.scheduling.errors import SchedulingError
from bot.scheduling.ledger import Ledger
from bot.scheduling.owner_view import bookings_in, schedule_report
from tools._scheduling import scheduler_for, text
from tools.base import Tool, error, parse_args

MAX_DAYS = 14


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: text(80) = "today"  # type: ignore[valid-type]


async def handle(session: CallSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Count and list the bookings in the window the owner named."""
    parsed = parse_args(_Args, arguments)
    if isinstance(parsed, dict):
        return parsed
    scheduler = await scheduler_for(session)
    try:
        when = scheduler.parse_when(parsed.when)
    except SchedulingError as exc:
        return error(exc.spoken)
    if (when.last_day - when.first_day).days >= MAX_DAYS:
        return error(f"Ask about at most {MAX_DAYS} days at a time.")
    found = await bookings_in(Ledger(session.store), scheduler.calendar.key, when, session.profile)
    return {"ok": True, **schedule_report(found, when, session.profile)}


TOOL = Tool(
    name="owner_schedule",
    description=(
        "For the verified owner: the appointments on a day or over a few days, e.g. 'today', "
        "'tomorrow', 'tomorrow afternoon', 'Friday', 'this week'. Read the count first."
    ),
    properties={
        "when": {"type": "string", "description": "The day or days, in the owner's words."}
    },
    required=[],
    handler=handle,
    available=lambda session: session.is_owner,
)
