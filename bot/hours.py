"""Is the business open at a given moment? Pure functions over the profile's hours."""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime

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
