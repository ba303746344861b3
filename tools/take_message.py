"""take_message: store a message for the business and text it to the owner."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from bot.call_session import CallSession
from bot.messages import leave_message
from bot.profile import to_e164
from bot.speech import speak_phone
from tools.base import Tool, error, parse_args


def _clean(value: str) -> str:
    return "".join(ch for ch in value if ch.isprintable())


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caller_name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
        AfterValidator(_clean),
    ]
    callback_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
    message: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=1000),
        AfterValidator(_clean),
    ]
    urgency: Literal["normal", "urgent"] = "normal"


async def handle(session: CallSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Save the message (it is never lost), then text it to the owner."""
    parsed = parse_args(_Args, arguments)
    if isinstance(parsed, dict):
        return parsed
    try:
        callback = to_e164(parsed.callback_number, session.profile.country)
    except ValueError:
        return error("The callback number doesn't look right. Please ask for it again.")
    flag = "URGENT message" if parsed.urgency == "urgent" else "New message"
    message_id = await leave_message(
        session,
        body=parsed.message,
        source="bot",
        caller_name=parsed.caller_name,
        callback=callback,
        urgency=parsed.urgency,
        sms=(
            f"{flag} for {session.profile.name} from {parsed.caller_name} "
            f"({callback}): {parsed.message}"
        ),
    )
    await session.emit("message", {"id": message_id, "urgency": parsed.urgency})
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
    properties={
        "caller_name": {"type": "string", "description": "The caller's name."},
        "callback_number": {
            "type": "string",
            "description": "Number to call back, with country code if known, e.g. +18605550199.",
        },
        "message": {"type": "string", "description": "The message, in the caller's words."},
        "urgency": {"type": "string", "enum": ["normal", "urgent"]},
    },
    required=["caller_name", "callback_number", "message"],
    handler=handle,
)
