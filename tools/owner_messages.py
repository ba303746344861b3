"""owner_messages: messages waiting for the business. Owner calls only."""

from __future__ import annotations

from typing import Any

from bot.call_session import CallSession
from bot.owner_reports import messages_report
from tools.base import NoArgs, Tool


async def handle(session: CallSession, args: NoArgs) -> dict[str, Any]:
    """Read out the messages nobody has handled yet; they are then marked handled."""
    return {"ok": True, **await messages_report(session.store, session.profile.tz)}


TOOL = Tool(
    name="owner_messages",
    description="For the verified owner: the messages callers left that nobody has handled yet.",
    handler=handle,
    available=lambda session: session.is_owner,
)
