"""owner_emergencies: emergencies reported in a window of time. Owner calls only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.call_session import CallSession
from bot.owner_reports import WINDOWS, emergencies_report, resolve_window
from tools.base import Tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: Literal[WINDOWS] = "today"  # type: ignore[valid-type]


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Count and describe the emergency alerts in the window."""
    window = resolve_window(args.window, datetime.now(UTC), session.profile.tz)
    return {"ok": True, **await emergencies_report(session.store, window, session.profile.tz)}


TOOL = Tool(
    name="owner_emergencies",
    description="For the verified owner: emergencies callers reported in a window of time.",
    handler=handle,
    args=_Args,
    available=lambda session: session.is_owner,
)
