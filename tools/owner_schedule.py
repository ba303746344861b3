"""owner_schedule: what is booked on a day or over a few days. Owner calls only."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.scheduling.owner_view import schedule_report
from tools._scheduling import CLEAN, bounded, owner_bookings
from tools.base import Tool, error

MAX_DAYS = 14


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: Annotated[
        str,
        bounded(80),
        CLEAN,
        Field(description="The day or days, in the owner's words."),
    ] = "today"


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Count and list the bookings in the window the owner named."""
    read = await owner_bookings(session, args.when)
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
    handler=handle,
    args=_Args,
    available=lambda session: session.is_owner,
)
