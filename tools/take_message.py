"""take_message: store a message for the business and text it to the owner."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bot.call_session import CallSession
from bot.messages import leave_message
from bot.profile import to_e164
from bot.speech import speak_phone
from tools.base import Tool, error


def _clean(value: str) -> str:
    return "".join(ch for ch in value if ch.isprintable())


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caller_name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
        AfterValidator(_clean),
        Field(description="The caller's name."),
    ]
    callback_number: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=32),
        Field(description="Number to call back, with country code if known, e.g. +18605550199."),
    ]
    message: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=1000),
        AfterValidator(_clean),
        Field(description="The message, in the caller's words."),
    ]
    urgency: Literal["normal", "urgent"] = "normal"


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Save the message (it is never lost), then text it to the owner."""
    try:
        callback = to_e164(args.callback_number, session.profile.country)
    except ValueError:
        return error("The callback number doesn't look right. Please ask for it again.")
    flag = "URGENT message" if args.urgency == "urgent" else "New message"
    message_id = await leave_message(
        session,
        body=args.message,
        source="bot",
        caller_name=args.caller_name,
        callback=callback,
        urgency=args.urgency,
        sms=(
            f"{flag} for {session.profile.name} from {args.caller_name} "
            f"({callback}): {args.message}"
        ),
    )
    await session.emit("message", {"id": message_id, "urgency": args.urgency})
    return {
        "ok": True,
        "status": "message saved and sent to the team",
        "read_back_number": speak_phone(callback, session.profile.country),
    }


TOOL = Tool(
    name="take_message",
    description=(
        "Take a message for the business when the caller wants a callback, the question can't be "
        "answered, or a transfer isn't possible. Confirm the callback number with the caller first."
    ),
    handler=handle,
    args=_Args,
)
