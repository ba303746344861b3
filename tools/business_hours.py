"""business_hours: whether the business is open now, or its hours on a given day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.call_session import CallSession
from bot.hours import next_opening, windows_on, within
from bot.profile import WEEKDAYS
from bot.speech import speak_date, speak_time
from tools.base import Tool

Day = Literal["now", "today", "tomorrow", *WEEKDAYS]  # type: ignore[valid-type]


class Args(BaseModel):
    """Which moment or day the caller asks about."""

    model_config = ConfigDict(extra="forbid")
    day: Day = Field(
        default="now",
        description="'now' for 'are you open now?', else the day asked about, e.g. 'saturday'.",
    )


async def handle(session: CallSession, args: Args) -> dict[str, Any]:
    """Answer from the profile's opening hours and blackout dates, in the business's zone."""
    profile = session.profile
    now = datetime.now(UTC).astimezone(profile.tz)
    if args.day == "now":
        is_open = within(profile.hours, set(profile.blackout_dates), now)
        opens = None if is_open else next_opening(profile, now)
        if is_open:
            say = f"Yes, {profile.name} is open right now."
        elif opens is None:
            say = f"{profile.name} is closed right now."
        else:
            say = f"{profile.name} is closed right now. It opens {_when(opens, now)}."
        return {"ok": True, "open_now": is_open, "say": say}
    day = _day(args.day, now)
    windows = windows_on(profile, day)
    label = "today" if day == now.date() else speak_date(day)
    if not windows:
        return {"ok": True, "open": False, "say": f"{profile.name} is closed {_on(label)}."}
    spans = " and ".join(f"{speak_time(w.open)} to {speak_time(w.close)}" for w in windows)
    return {"ok": True, "open": True, "say": f"{_on(label).capitalize()}, we're open {spans}."}


def _day(word: str, now: datetime) -> date:
    if word == "today":
        return now.date()
    if word == "tomorrow":
        return now.date() + timedelta(days=1)
    ahead = (WEEKDAYS.index(word) - now.weekday()) % 7  # the coming one; today if it is today
    return now.date() + timedelta(days=ahead)


def _on(label: str) -> str:
    return label if label == "today" else f"on {label}"


def _when(opens: datetime, now: datetime) -> str:
    if opens.date() == now.date():
        return f"at {speak_time(opens)} today"
    if opens.date() == now.date() + timedelta(days=1):
        return f"tomorrow at {speak_time(opens)}"
    return f"on {speak_date(opens)} at {speak_time(opens)}"


TOOL = Tool(
    name="business_hours",
    description=(
        "Whether the business is open now, or its opening hours on a day (today, tomorrow, or a "
        "weekday). Use it for any question about opening hours; say the 'say' text."
    ),
    handler=handle,
    args=Args,
)
