"""Is the business open at a given moment? Pure functions over the profile's hours."""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime, timedelta

from bot.profile import WEEKDAYS, BusinessProfile, OpeningWindow


def within(
    windows: dict[str, list[OpeningWindow]], blackout: Container[date], local: datetime
) -> bool:
    """True if `local` (aware, in the business's zone) falls inside one of the day's windows."""
    if local.date() in blackout:
        return False
    moment = local.time()
    return any(w.open <= moment < w.close for w in windows.get(WEEKDAYS[local.weekday()], []))


def transfer_allowed(profile: BusinessProfile, now: datetime) -> bool:
    """Live transfers only during the transfer hours (default: opening hours)."""
    if profile.transfer is None:
        return False
    local = now.astimezone(profile.tz)
    hours = profile.transfer.hours if profile.transfer.hours is not None else profile.hours
    return within(hours, set(profile.blackout_dates), local)


def windows_on(profile: BusinessProfile, day: date) -> list[OpeningWindow]:
    """The opening windows of a local calendar day, earliest first; none on a blackout date."""
    if day in set(profile.blackout_dates):
        return []
    return sorted(profile.hours.get(WEEKDAYS[day.weekday()], []), key=lambda w: w.open)


def next_opening(profile: BusinessProfile, now: datetime, *, days: int = 14) -> datetime | None:
    """When the business next opens after `now` (local, aware); None if not within `days`."""
    local = now.astimezone(profile.tz)
    for offset in range(days + 1):
        day = local.date() + timedelta(days=offset)
        for window in windows_on(profile, day):
            opens = datetime.combine(day, window.open, profile.tz)
            if opens > local:
                return opens
    return None
