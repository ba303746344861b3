"""transfer_call: hand a live phone call to a person at the business, during transfer hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.call_session import CallSession
from bot.hours import transfer_allowed
from tools.base import NoArgs, Tool, error

TRANSFER_LINE = "Okay, I'm putting you through now. Please hold."


async def handle(session: CallSession, args: NoArgs) -> dict[str, Any]:
    """Say a short line, then redirect the live call to the transfer number."""
    fallback = " Offer to take a message instead, with take_message."
    if session.profile.transfer is None:
        return error("This business has no transfer number." + fallback)
    if not transfer_allowed(session.profile, datetime.now(UTC)):
        return error("Nobody is available to take a transfer at this hour." + fallback)
    if session.transport != "twilio" or session.twilio is None or not session.call_sid:
        return error("A live transfer is not possible on this line." + fallback)
    assert session.control is not None
    await session.control.transfer(session.profile.transfer.number, TRANSFER_LINE)
    return {"ok": True, "status": "transferring now; the call continues with a person"}


TOOL = Tool(
    name="transfer_call",
    description=(
        "Transfer the caller to a person at the business, when they ask for a human or need "
        "something you cannot do. If it fails or is unavailable, offer to take a message."
    ),
    handler=handle,
    run_llm_after=False,
)
