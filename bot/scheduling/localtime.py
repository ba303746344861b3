"""Local wall times in the business's zone and the instants they name: the DST rules.

Invariant: every conversion between a local wall time and a UTC instant goes through here, so
the rules hold everywhere (each covered by tests, property tests across DST changes):

1. "Now" is the server clock (UTC) converted to the business's IANA zone.
2. Day words move along local calendar dates (the parser adds days to `local_now(...).date()`).
3. Durations (service length, buffer, minimum notice) are elapsed time, computed in UTC.
4. Spring forward: a local time the clocks skip (02:30 on 8 March 2026 in New York, 01:30 on
   29 March 2026 in London) does not exist: `to_utc` refuses it with a speakable reason, and
   availability never offers it.
5. Fall back: a local time that happens twice (01:30 on 1 November 2026 in New York, on
   25 October 2026 in London) means its FIRST occurrence (`fold=0`, still on summer time). The
   repeated hour is offered once, and `speak_slot` says "before the clocks go back".
6. Opening hours that start or end inside a gap are shifted forward by the gap (zoneinfo's
   `fold=0` reading, `bound_to_utc`): a 02:30 opening on a spring-forward night opens at 03:30.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.scheduling.errors import DateError
from bot.speech import speak_day, speak_time


def local_now(now: datetime, tz: ZoneInfo) -> datetime:
    """The trusted now (aware) in the business's zone."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(tz)


def exists(day: date, t: time, tz: ZoneInfo) -> bool:
    """False if the clocks skip this local time on this day (spring-forward gap)."""
    naive = datetime.combine(day, t)
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def is_repeated(day: date, t: time, tz: ZoneInfo) -> bool:
    """True if this local time happens twice on this day (fall-back overlap)."""
    naive = datetime.combine(day, t)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    return exists(day, t, tz) and first.utcoffset() != second.utcoffset()


def to_utc(day: date, t: time, tz: ZoneInfo) -> datetime:
    """A local wall time as a UTC instant: gaps refused (rule 4), repeats = first (rule 5)."""
    if not exists(day, t, tz):
        raise DateError(
            f"On {speak_day(day)} the clocks go forward, so {speak_time(t)} doesn't exist "
            "that day. Please pick another time.",
            reason="nonexistent_time",
        )
    return datetime.combine(day, t).replace(tzinfo=tz, fold=0).astimezone(UTC)


def bound_to_utc(day: date, t: time, tz: ZoneInfo) -> datetime:
    """An opening-hours boundary as UTC; a boundary inside a gap moves forward (rule 6)."""
    return datetime.combine(day, t).replace(tzinfo=tz, fold=0).astimezone(UTC)


def speak_slot(start: datetime, tz: ZoneInfo, today: date | None = None) -> str:
    """A slot start as the caller hears it: 'Tuesday the 3rd at 2 PM' (rule 5's warning added)."""
    local = start.astimezone(tz)
    text = f"{speak_day(local.date(), today)} at {speak_time(local)}"
    if is_repeated(local.date(), local.time().replace(tzinfo=None), tz):
        text += ", before the clocks go back"
    return text
