"""owner_emergencies: emergencies reported in a window of time. Owner calls only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.call_session import CallSession
from bot.owner_reports import WINDOWS, emergencies_report, resolve_window
from tools.base import Tool, parse_args


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: Literal[WINDOWS] = "today"  # type: ignore[valid-type]


async def handle(session: CallSession, arguments: dict[str, Any]) -> dict[str, Any]:
    """Count and describe the emergency alerts in the window."""
    parsed = parse_args(_Args, arguments)
    if isinstance(parsed, dict):
        return parsed
    window = resolve_window(parsed.window, datetime.now(UTC), session.profile.tz)
    return {"ok": True, **await emergencies_report(session.store, window, session.profile.tz)}


TOOL = Tool(
    name="owner_emergencies",
    description="For the verified owner: emergencies callers reported in a window of time.",
    properties={"window": {"type": "string", "enum": list(WINDOWS)}},
    required=[],
    handler=handle,
    available=lambda session: session.is_owner,
)
