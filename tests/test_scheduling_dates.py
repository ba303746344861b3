"""Date and time resolution: the caller's words -> local days and times, DST rules included.

Table tests pin the documented rules; Hypothesis checks them across DST changes, month and year
ends, in America/New_York and Europe/London.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.scheduling.availability import find_options, free_starts
from bot.scheduling.errors import DateError
from bot.scheduling.localtime import exists, is_repeated, speak_slot, to_utc
from bot.scheduling.when import WEEKDAY_NAMES, parse_when
from tests.scheduling_support import DENTAL, PLUMBING, round_the_clock

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
ZONES = [NY, LONDON]
# Monday 2 March 2026, 10:00 in New York.
MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def when(text: str, now: datetime = MONDAY, tz: ZoneInfo = NY, **kw):
    return parse_when(
        text, now, tz, country=kw.pop("country", "US"), max_days_ahead=kw.pop("days", 30)
    )


@pytest.mark.parametrize(
    ("text", "first", "last", "not_before", "before", "at"),
    [
        ("tomorrow afternoon", date(2026, 3, 3), date(2026, 3, 3), time(12), time(17), None),
        ("next Tuesday", date(2026, 3, 3), date(2026, 3, 3), None, None, None),
        ("Tuesday week", date(2026, 3, 10), date(2026, 3, 10), None, None, None),
        ("tuesday next week", date(2026, 3, 10), date(2026, 3, 10), None, None, None),
        ("this Monday", date(2026, 3, 2), date(2026, 3, 2), None, None, None),
        ("after 5", date(2026, 3, 2), date(2026, 4, 1), time(17), None, None),
        ("before 11", date(2026, 3, 2), date(2026, 4, 1), None, time(11), None),
        ("March 3rd at 2 PM", date(2026, 3, 3), date(2026, 3, 3), None, None, time(14)),
        (
            "the 3rd of March at 2:30pm",
            date(2026, 3, 3),
            date(2026, 3, 3),
            None,
            None,
            time(14, 30),
        ),
        ("2026-03-05T14:00", date(2026, 3, 5), date(2026, 3, 5), None, None, time(14)),
        ("between 1 and 3 tomorrow", date(2026, 3, 3), date(2026, 3, 3), time(13), time(15), None),
        (
            "tomorrow at 9 in the morning",
            date(2026, 3, 3),
            date(2026, 3, 3),
            None,
            time(12),
            time(9),
        ),
        ("next week", date(2026, 3, 9), date(2026, 3, 15), None, None, None),
        ("this weekend", date(2026, 3, 7), date(2026, 3, 8), None, None, None),
        ("the day after tomorrow", date(2026, 3, 4), date(2026, 3, 4), None, None, None),
        ("noon on Friday", date(2026, 3, 6), date(2026, 3, 6), None, None, time(12)),
        ("3/4", date(2026, 3, 4), date(2026, 3, 4), None, None, None),
    ],
)
def test_phrases(text, first, last, not_before, before, at):
    got = when(text)
    assert (got.first_day, got.last_day, got.not_before, got.before, got.at) == (
        first,
        last,
        not_before,
        before,
        at,
    )


def test_earliest_means_from_today_to_the_horizon():
    got = when("the earliest you have")
    assert got.soonest and got.first_day == date(2026, 3, 2) and got.last_day == date(2026, 4, 1)
    assert got.described == "the earliest time available"


def test_slash_dates_follow_the_country():
    assert when("3/4", country="US").first_day == date(2026, 3, 4)
    assert when("4/3", country="GB", tz=LONDON).first_day == date(2026, 3, 4)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("February 30th", "nonexistent_date"),
        ("April 31", "nonexistent_date"),
        ("2027-02-29", "nonexistent_date"),
        ("2020-01-01", "past_date"),
        ("in 40 days", "too_far_ahead"),
        ("Tuesday the 4th", "weekday_mismatch"),
        ("not Monday", "negative_preference"),
        ("sometime, purple", "unparsed"),
        ("2026-03-05T14:00:00Z", "offset_given"),
        ("at 25:00", "bad_time"),
        ("13 pm", "bad_time"),
        ("tomorrow or Friday", "two_days"),
    ],
)
def test_refusals_are_speakable(text, reason):
    with pytest.raises(DateError) as caught:
        when(text)
    assert caught.value.reason == reason
    spoken = caught.value.spoken
    assert spoken and spoken[0].isupper() and "{" not in spoken and "_" not in spoken


def test_february_29th_without_a_year_waits_for_a_leap_year():
    assert when("February 29th", days=800).first_day == date(2028, 2, 29)


def test_spring_forward_gap_is_refused_by_name():
    # 8 March 2026: New York clocks go from 2:00 to 3:00.
    with pytest.raises(DateError) as caught:
        when("March 8th at 2:30 am")
    assert caught.value.reason == "nonexistent_time"
    assert "clocks go forward" in caught.value.spoken
    assert when("March 8th at 3:30 am").at == time(3, 30)


def test_fall_back_repeat_means_the_first_occurrence():
    # 1 November 2026: New York 1:30 AM happens twice; the rule is the first (EDT, UTC-4).
    assert is_repeated(date(2026, 11, 1), time(1, 30), NY)
    assert to_utc(date(2026, 11, 1), time(1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    spoken = speak_slot(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NY)
    assert spoken == "Sunday the 1st of November at 1:30 AM, before the clocks go back"


def test_speakable_slot_text():
    start = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
    assert speak_slot(start, NY, date(2026, 3, 2)) == "Tuesday the 3rd at 2 PM"
    assert speak_slot(start, NY, date(2026, 2, 27)) == "Tuesday the 3rd of March at 2 PM"


def test_scheduling_package_does_not_import_pipecat():
    """Transitively: importing every scheduling module leaves pipecat unloaded."""
    code = (
        "import sys, pkgutil, importlib, bot.scheduling as s\n"
        "for m in pkgutil.iter_modules(s.__path__): importlib.import_module('bot.scheduling.' + m.name)\n"
        "import bot.claims_audit\n"
        "print(any(n == 'pipecat' or n.startswith('pipecat.') for n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- properties ----------------------------------------------------------------------------------

DST_DAYS = {
    NY: [date(2026, 3, 8), date(2026, 11, 1), date(2027, 3, 14), date(2027, 11, 7)],
    LONDON: [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)],
}
EDGE_DAYS = [
    date(2026, 12, 31),
    date(2027, 1, 1),
    date(2026, 2, 28),
    date(2028, 2, 29),
    date(2026, 1, 31),
    date(2026, 4, 30),
]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

zones = st.sampled_from(ZONES)
minutes = st.integers(min_value=0, max_value=24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


@st.composite
def interesting_days(draw, tz):
    base = draw(st.sampled_from(DST_DAYS[tz] + EDGE_DAYS))
    return base + timedelta(days=draw(st.integers(-2, 2)))


@st.composite
def local_moments(draw):
    """(zone, a UTC now) near DST changes and month/year ends."""
    tz = draw(zones)
    day = draw(interesting_days(tz))
    t = draw(minutes)
    naive = datetime.combine(day, t)
    return tz, naive.replace(tzinfo=tz, fold=draw(st.integers(0, 1))).astimezone(UTC)


def _exists_oracle(day: date, t: time, tz: ZoneInfo) -> list[datetime]:
    """UTC instants showing this wall time, found by trying each offset in play that day."""
    naive = datetime.combine(day, t)
    offsets = {naive.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)}
    found = []
    for offset in offsets:
        candidate = (naive - offset).replace(tzinfo=UTC)
        if candidate.astimezone(tz).replace(tzinfo=None) == naive:
            found.append(candidate)
    return sorted(found)


@PROPERTY
@given(data=st.data())
def test_local_times_gaps_refused_repeats_take_the_first(data):
    tz = data.draw(zones)
    day = data.draw(interesting_days(tz))
    t = data.draw(minutes)
    instants = _exists_oracle(day, t, tz)
    assert exists(day, t, tz) == bool(instants)
    assert is_repeated(day, t, tz) == (len(instants) == 2)
    if not instants:
        with pytest.raises(DateError):
            to_utc(day, t, tz)
        return
    got = to_utc(day, t, tz)
    assert got == instants[0]  # the first occurrence
    local = got.astimezone(tz)
    assert (local.date(), local.time()) == (day, t)  # round trip


@PROPERTY
@given(moment=local_moments(), n=st.integers(0, 20))
def test_relative_days_follow_local_calendar_dates(moment, n):
    tz, now = moment
    today = now.astimezone(tz).date()
    for text, delta in (
        ("today", 0),
        ("tomorrow", 1),
        ("the day after tomorrow", 2),
        (f"in {n} days", n),
    ):
        got = parse_when(text, now, tz, max_days_ahead=30)
        assert got.first_day == got.last_day == today + timedelta(days=delta)


@PROPERTY
@given(moment=local_moments(), weekday=st.integers(0, 6))
def test_weekdays(moment, weekday):
    tz, now = moment
    today = now.astimezone(tz).date()
    name = WEEKDAY_NAMES[weekday]
    plain = parse_when(name, now, tz).first_day
    nxt = parse_when(f"next {name}", now, tz).first_day
    assert plain.weekday() == nxt.weekday() == weekday
    assert 0 <= (plain - today).days <= 6
    assert 1 <= (nxt - today).days <= 7
    assert parse_when(f"{name} week", now, tz).first_day == nxt + timedelta(days=7)


@PROPERTY
@given(moment=local_moments(), month=st.integers(1, 12), day=st.integers(1, 31))
def test_month_day_is_the_next_occurrence_or_refused(moment, month, day):
    tz, now = moment
    today = now.astimezone(tz).date()
    text = f"{date(2000, month, 1).strftime('%B')} {day}"
    try:
        date(2024, month, day)  # exists in some year (2024 is a leap year)
    except ValueError:
        with pytest.raises(DateError) as caught:
            parse_when(text, now, tz, max_days_ahead=1500)
        assert caught.value.reason == "nonexistent_date"
        return
    got = parse_when(text, now, tz, max_days_ahead=1500).first_day
    assert (got.month, got.day) == (month, day)
    assert today <= got
    # Nothing earlier qualifies: the previous year's date (if it exists) is already past.
    try:
        assert date(got.year - 1, month, day) < today
    except ValueError:
        pass


@PROPERTY
@given(
    moment=local_moments(), step=st.sampled_from([15, 30]), duration=st.sampled_from([30, 60, 90])
)
def test_offered_slots_obey_the_rules_across_dst(moment, step, duration):
    tz, now = moment
    path = PLUMBING if tz == NY else DENTAL
    business = round_the_clock(
        path,
        timezone=tz.key,
        scheduling={"slot_step_minutes": step, "max_days_ahead": 3},
        services=[{"id": "job", "name": "job", "duration_minutes": duration}],
        default_service="job",
    )
    service = business.services[0]
    today = now.astimezone(tz).date()
    starts = free_starts(business, service, [], now, today, today + timedelta(days=3))
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for start in starts:
        local = start.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        assert exists(local.date(), wall, tz)
        assert to_utc(local.date(), wall, tz) == start  # a repeated time is offered once: first
        assert (local.hour * 60 + local.minute) % step == 0
        assert start >= now
        end_local = (start + timedelta(minutes=duration)).astimezone(tz)
        assert end_local.date() == local.date() and end_local.time() <= time(23, 59)
    # The options a caller hears for "tomorrow" are all on tomorrow's local date.
    tomorrow = parse_when("tomorrow", now, tz, max_days_ahead=3)
    options = find_options(business, service, tomorrow, [], now)
    assert options.exact and options.slots
    assert all(s.start.astimezone(tz).date() == today + timedelta(days=1) for s in options.slots)
