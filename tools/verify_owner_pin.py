"""verify_owner_pin: offered only on calls from an owner's number, until the PIN is right."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bot.call_session import MAX_PIN_ATTEMPTS, CallSession
from tools.base import Tool, error


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
        Field(description="The digits the caller said."),
    ]


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Check the PIN the caller spoke."""
    if not session.may_try_owner_pin:
        return error("Owner access is not available on this call.")
    assert session.control is not None
    if await session.control.verify_owner_pin(args.pin):
        return {"ok": True, "status": "owner verified; owner tools are now available"}
    left = MAX_PIN_ATTEMPTS - session.pin_attempts
    if left <= 0:
        return error("That PIN is not right. Continue helping them as an ordinary caller.")
    return error(f"That PIN is not right. They may try again ({left} left).")


TOOL = Tool(
    name="verify_owner_pin",
    description=(
        "The caller ID matches the owner's phone. If the caller wants owner information (the "
        "schedule, messages, emergencies), ask for their PIN and pass it here. They can also type "
        "it on the keypad followed by #."
    ),
    handler=handle,
    args=_Args,
    available=lambda session: session.may_try_owner_pin,
)
