"""Which start times can be offered for a service: opening hours, blackouts, buffer, notice.

Pure functions over the profile, a trusted now and a list of busy intervals (UTC). A slot is
offered only if, all at once:
- its local start lies on the business's step grid inside one opening window of that weekday,
  and the whole job (elapsed duration) ends by that window's close;
- the day is not a blackout date;
- it starts at least `min_notice_minutes` from now and on a day at most `max_days_ahead` away;
- it keeps `buffer_minutes` clear of every busy interval on both sides;
- its local start time exists (spring-forward gaps are skipped; a repeated fall-back time is
  offered once, as its first occurrence; see `bot.scheduling.localtime`).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import zip_longest

from bot.profile import WEEKDAYS, BusinessProfile, Service
from bot.scheduling.localtime import bound_to_utc, exists, local_now, speak_slot, to_utc
from bot.scheduling.when import AT_WINDOW, When

OPTIONS = 3  # how many options a caller hears at once
SPREAD = timedelta(minutes=60)  # options at least this far apart when there are enough


@dataclass(frozen=True)
class Interval:
    """A busy span of time, UTC, end exclusive."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Slot:
    """A start time that can be booked for one service; `id` is what the LLM gets."""

    service_id: str
    start: datetime  # UTC
    end: datetime  # UTC
    spoken: str  # "Tuesday the 3rd at 2 PM"

    @property
    def id(self) -> str:
        """Opaque, stable id: the same slot offered twice gets the same id."""
        return slot_id(self.service_id, self.start)


@dataclass(frozen=True)
class Options:
    """What `find_options` found for a preference."""

    slots: list[Slot]
    exact: bool  # True if the slots fit the preference; False means nearest alternatives


def slot_id(service_id: str, start: datetime) -> str:
    """`slot-` + 8 base32 characters of a hash of (service, UTC start)."""
    digest = hashlib.sha256(f"{service_id}|{start.astimezone(UTC).isoformat()}".encode()).digest()
    return "slot-" + base64.b32encode(digest).decode()[:8].lower()


def utc(dt: datetime) -> datetime:
    """An aware datetime in UTC."""
    return dt.astimezone(UTC)


class BusyIndex:
    """Busy intervals merged and sorted, for fast 'does this job clash' checks with a buffer."""

    def __init__(self, busy: list[Interval], buffer: timedelta) -> None:
        merged: list[list[datetime]] = []
        for item in sorted(busy, key=lambda i: i.start):
            start, end = utc(item.start) - buffer, utc(item.end) + buffer
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self._starts = [m[0] for m in merged]
        self._ends = [m[1] for m in merged]

    def clashes(self, start: datetime, end: datetime) -> bool:
        """True if [start, end) comes within the buffer of any busy interval."""
        i = bisect.bisect_right(self._ends, start)  # first padded interval ending after start
        return i < len(self._starts) and self._starts[i] < end


def candidate_starts(profile: BusinessProfile, service: Service, day: date) -> Iterator[datetime]:
    """Every grid start (UTC) on a local day whose whole job fits in one opening window."""
    if day in profile.blackout_dates:
        return
    tz = profile.tz
    step = timedelta(minutes=profile.scheduling.slot_step_minutes)
    duration = timedelta(minutes=service.duration_minutes)
    for window in profile.hours.get(WEEKDAYS[day.weekday()], []):
        close = bound_to_utc(day, window.close, tz)
        wall = datetime.combine(day, window.open)
        end_wall = datetime.combine(day, window.close)
        while wall < end_wall:
            t = wall.time()
            if exists(day, t, tz):
                start = to_utc(day, t, tz)
                if start + duration > close:
                    break
                yield start
            wall += step


def free_starts(
    profile: BusinessProfile,
    service: Service,
    busy: list[Interval],
    now: datetime,
    first_day: date,
    last_day: date,
) -> list[datetime]:
    """All bookable starts between two local days (inclusive), in time order."""
    rules = profile.scheduling
    today = local_now(now, profile.tz).date()
    horizon = today + timedelta(days=rules.max_days_ahead)
    earliest = utc(now) + timedelta(minutes=rules.min_notice_minutes)
    duration = timedelta(minutes=service.duration_minutes)
    index = BusyIndex(busy, timedelta(minutes=rules.buffer_minutes))
    day, last = max(first_day, today), min(last_day, horizon)
    starts: list[datetime] = []
    while day <= last:
        for start in candidate_starts(profile, service, day):
            if start >= earliest and not index.clashes(start, start + duration):
                starts.append(start)
        day += timedelta(days=1)
    return starts


def _spread(starts: list[datetime], limit: int) -> list[datetime]:
    """Up to `limit` starts in the given order, at least SPREAD apart where possible."""
    chosen: list[datetime] = []
    for start in starts:
        if all(abs(start - c) >= SPREAD for c in chosen):
            chosen.append(start)
        if len(chosen) == limit:
            return chosen
    for start in starts:
        if start not in chosen:
            chosen.append(start)
        if len(chosen) == limit:
            break
    return chosen


def _target(when: When, profile: BusinessProfile) -> tuple[datetime, datetime]:
    """The requested span as UTC instants, for ranking alternatives by closeness."""
    tz = profile.tz
    if when.at is not None:
        centre = bound_to_utc(when.first_day, when.at, tz)
        return centre, centre
    start = bound_to_utc(when.first_day, when.not_before or time(0, 0), tz)
    end = (
        bound_to_utc(when.last_day, when.before, tz)
        if when.before
        else bound_to_utc(when.last_day + timedelta(days=1), time(0, 0), tz)
    )
    return start, end


def find_options(
    profile: BusinessProfile,
    service: Service,
    when: When,
    busy: list[Interval],
    now: datetime,
    *,
    limit: int = OPTIONS,
) -> Options:
    """Slots that fit the preference; if none, the nearest free alternatives (exact=False)."""
    tz = profile.tz
    today = local_now(now, tz).date()
    duration = timedelta(minutes=service.duration_minutes)
    inside = [
        s
        for s in free_starts(profile, service, busy, now, when.first_day, when.last_day)
        if when.admits(s.astimezone(tz))
    ]
    if when.at is not None:
        inside.sort(key=lambda s: (_distance_to_at(s, when, tz), s))
    exact = bool(inside)
    if not exact:
        inside = _alternatives(profile, service, when, busy, now)
    chosen = _spread(inside, limit)
    if when.at is None or not exact:
        chosen.sort()
    return Options(
        slots=[Slot(service.id, s, s + duration, speak_slot(s, tz, today)) for s in chosen],
        exact=exact,
    )


def _alternatives(
    profile: BusinessProfile, service: Service, when: When, busy: list[Interval], now: datetime
) -> list[datetime]:
    """Nearest free starts when nothing fits.

    The same days at another time of day and the same time of day on the nearest other days,
    taken in turn, then anything else by closeness.
    """
    tz = profile.tz
    today = local_now(now, tz).date()
    horizon = today + timedelta(days=profile.scheduling.max_days_ahead)
    everything = free_starts(profile, service, busy, now, today, horizon)
    lo, hi = _target(when, profile)

    def closeness(s: datetime) -> timedelta:
        return max(lo - s, s - hi, timedelta(0))

    same_days = sorted(
        (s for s in everything if when.first_day <= s.astimezone(tz).date() <= when.last_day),
        key=lambda s: (closeness(s), s),
    )
    any_day = replace(when, first_day=today, last_day=horizon)
    same_hours = sorted(
        (s for s in everything if any_day.admits(s.astimezone(tz)) and s not in same_days),
        key=lambda s: (abs((s.astimezone(tz).date() - when.first_day).days), s),
    )
    ranked: list[datetime] = []
    for pair in zip_longest(same_days, same_hours):
        ranked.extend(s for s in pair if s is not None)
    seen = set(ranked)
    ranked.extend(sorted((s for s in everything if s not in seen), key=lambda s: (closeness(s), s)))
    return ranked


def _distance_to_at(start: datetime, when: When, tz: tzinfo) -> timedelta:
    local = start.astimezone(tz)
    assert when.at is not None
    wanted = datetime.combine(local.date(), when.at)
    return min(abs(local.replace(tzinfo=None) - wanted), AT_WINDOW * 2)
