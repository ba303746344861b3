"""end_call: say the business's goodbye and hang up."""

from __future__ import annotations

from typing import Any

from bot.call_session import CallSession
from tools.base import NoArgs, Tool


async def handle(session: CallSession, args: NoArgs) -> dict[str, Any]:
    """Speak the profile's goodbye, then end the call (a REST hang-up on the phone)."""
    assert session.control is not None
    await session.control.end_call("bot_ended", session.profile.goodbye)
    return {"ok": True, "status": "goodbye said, hanging up"}


TOOL = Tool(
    name="end_call",
    description=(
        "End the phone call. Call this when the caller has nothing more to ask or says goodbye. "
        "It speaks the business's goodbye line itself, so do not say goodbye in the same reply."
    ),
    handler=handle,
    run_llm_after=False,
)
