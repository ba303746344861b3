"""verify_owner_pin: offered only on calls from an owner's number, until the PIN is right.

It takes no arguments: the PIN is typed on the keypad and ended with # (`pipelines.owner_pin_gate`
checks it), so it never passes through the LLM, a transcript or the tool-call record.
"""

from __future__ import annotations

from typing import Any

from bot.call_session import CallSession
from tools.base import NoArgs, Tool, error


async def handle(session: CallSession, args: NoArgs) -> dict[str, Any]:
    """Ask the caller to type the PIN; the keypad entry itself unlocks the owner tools."""
    if not session.may_try_owner_pin:
        return error("Owner access is not available on this call.")
    key = "pound" if session.profile.country in ("US", "CA") else "hash"
    return {
        "ok": True,
        "status": "waiting_for_keypad",
        "say": f"Please type your PIN on your phone's keypad, then press the {key} key.",
    }


TOOL = Tool(
    name="verify_owner_pin",
    description=(
        "The caller ID matches the owner's phone. When the caller wants owner information (the "
        "schedule, messages, emergencies), call this and tell them the 'say' text: they type "
        "their PIN on the keypad followed by #. Never ask them to say the PIN aloud; a note "
        "tells you when the keypad PIN was accepted or not."
    ),
    handler=handle,
    available=lambda session: session.may_try_owner_pin,
)
