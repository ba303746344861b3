"""owner_schedule: what is booked on a day or over a few days. Owner calls only."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.call_session import CallSession
from bot.scheduling.owner_view import schedule_report
from tools._scheduling import owner_bookings, text
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
    read = await owner_bookings(session, parsed.when)
    if isinstance(read, str):
        return error(read)
    when, found, _ = read
    if (when.last_day - when.first_day).days >= MAX_DAYS:
        return error(f"Ask about at most {MAX_DAYS} days at a time.")
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
