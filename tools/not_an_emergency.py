"""not_an_emergency: the possible emergency the detector raised is not one; nobody is alerted."""

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
        Field(description="A few words on why it is not an emergency."),
    ]


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Close the possible emergency being confirmed; it is kept for review, not alerted."""
    assert session.control is not None
    if session.emergency:
        return {"ok": False, "error": "This call is already an emergency; the owner was alerted."}
    reason = "".join(ch for ch in args.reason if ch.isprintable())
    dismissed = await session.control.dismiss_emergency(reason)
    return {
        "ok": True,
        "status": "noted, no alert" if dismissed else "nothing was pending; no alert",
    }


TOOL = Tool(
    name="not_an_emergency",
    description=(
        "Call this after you were told of a POSSIBLE EMERGENCY and the caller's answer shows it "
        "is not happening now (a question about prices or services, something in the past, "
        "someone else's problem, or a hypothetical). No one is alerted; carry on helping."
    ),
    handler=handle,
    args=_Args,
)
