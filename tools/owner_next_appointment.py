"""owner_next_appointment: the first, or the next, appointment on a day. Owner calls only."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.call_session import CallSession
from bot.scheduling.owner_view import describe_booking
from tools._scheduling import owner_bookings, text
from tools.base import Tool, error, parse_args


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: text(80) = "today"  # type: ignore[valid-type]
    which: Literal["first", "next"] = "next"


async def handle(session: CallSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """The day's first appointment, or the next one from now."""
    parsed = parse_args(_Args, arguments)
    if isinstance(parsed, dict):
        return parsed
    read = await owner_bookings(session, parsed.when)
    if isinstance(read, str):
        return error(read)
    when, found, scheduler = read
    if parsed.which == "next":
        found = [b for b in found if b.start > scheduler.now()]
    if not found:
        return {"ok": True, "found": False, "spoken": f"Nothing more booked {when.described}."}
    first = describe_booking(found[0], session.profile, with_day=not when.single_day)
    label = "First" if parsed.which == "first" else "Next"
    return {"ok": True, "found": True, "spoken": f"{label} {when.described}: {first}."}


TOOL = Tool(
    name="owner_next_appointment",
    description=(
        "For the verified owner: the first appointment on a day ('first'), or the next one from "
        "now ('next'), e.g. when='tomorrow', which='first'."
    ),
    properties={
        "when": {"type": "string", "description": "The day, in the owner's words."},
        "which": {"type": "string", "enum": ["first", "next"]},
    },
    required=[],
    handler=handle,
    available=lambda session: session.is_owner,
)
