"""current_time: today's date and the time now, in the business's time zone.

The model must never do date arithmetic from memory; this is its trusted "now".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.call_session import CallSession
from bot.speech import speak_date, speak_time
from tools.base import NoArgs, Tool


async def handle(session: CallSession, args: NoArgs) -> dict[str, Any]:
    """Return the business's local date and time, ready to speak."""
    now = datetime.now(UTC).astimezone(session.profile.tz)
    return {
        "ok": True,
        "date": now.date().isoformat(),
        "spoken": f"{speak_date(now)}, {speak_time(now)}",
        "timezone": session.profile.timezone,
    }


TOOL = Tool(
    name="current_time",
    description="Today's date and the current time at the business. Use it before talking about dates.",
    handler=handle,
)
