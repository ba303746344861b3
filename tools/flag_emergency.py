"""flag_emergency: confirms a possible emergency, or flags one the detector missed; alerts at once."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bot.call_session import CallSession
from tools.base import Tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=3, max_length=200),
        Field(description="A few words on what is happening."),
    ]
    life_threatening: bool = Field(
        default=False,
        description="True for gas, carbon monoxide, or danger to someone's life or breathing.",
    )


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Flag the call as an emergency; the emergency script is spoken by the system."""
    assert session.control is not None
    reason = "".join(ch for ch in args.reason if ch.isprintable())
    new = await session.control.declare_emergency(reason, life_threatening=args.life_threatening)
    return {
        "ok": True,
        "status": "owner alerted" if new else "already flagged; the owner has been alerted",
    }


TOOL = Tool(
    name="flag_emergency",
    description=(
        "Flag this call as an emergency when the caller describes urgent danger or damage that "
        "cannot wait (for a plumber: flooding, burst pipe, sewage, gas; for a dentist: facial "
        "swelling, uncontrolled bleeding, a knocked-out tooth). The owner is alerted at once and "
        "the safety script is spoken for you. When told of a POSSIBLE EMERGENCY, call this once "
        "the caller confirms it is happening now."
    ),
    handler=handle,
    args=_Args,
)
