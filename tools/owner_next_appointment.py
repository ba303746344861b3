"""owner_next_appointment: the first, or the next, appointment on a day. Owner calls only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.scheduling.owner_view import describe_booking
from tools._scheduling import CLEAN, bounded, owner_bookings
from tools.base import Tool, error


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: Annotated[
        str,
        bounded(80),
        CLEAN,
        Field(description="The day, in the owner's words."),
    ] = "today"
    which: Literal["first", "next"] = "next"


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """The day's first appointment, or the next one from now."""
    read = await owner_bookings(session, args.when)
    if isinstance(read, str):
        return error(read)
    when, found, scheduler = read
    if args.which == "next":
        found = [b for b in found if b.start > scheduler.now()]
    if not found:
        return {"ok": True, "found": False, "spoken": f"Nothing more booked {when.described}."}
    first = describe_booking(found[0], session.profile, with_day=not when.single_day)
    label = "First" if args.which == "first" else "Next"
    return {"ok": True, "found": True, "spoken": f"{label} {when.described}: {first}."}


TOOL = Tool(
    name="owner_next_appointment",
    description=(
        "For the verified owner: the first appointment on a day ('first'), or the next one from "
        "now ('next'), e.g. when='tomorrow', which='first'."
    ),
    handler=handle,
    args=_Args,
    available=lambda session: session.is_owner,
)
