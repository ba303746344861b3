"""business_hours: open now, or a day's hours, from the profile (Bristol Plumbing, New York time)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import DEFAULT_PROFILE
from bot.hours import next_opening, windows_on
from bot.profile import load_profile
from tools import business_hours

BRISTOL = load_profile(DEFAULT_PROFILE)
NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("now", "opens"),
    [
        (datetime(2026, 12, 4, 18, 0, tzinfo=NY), datetime(2026, 12, 5, 9, 0, tzinfo=NY)),  # Fri
        (datetime(2026, 12, 5, 13, 0, tzinfo=NY), datetime(2026, 12, 7, 7, 30, tzinfo=NY)),  # Sat
        (datetime(2026, 12, 7, 6, 0, tzinfo=NY), datetime(2026, 12, 7, 7, 30, tzinfo=NY)),  # Mon
        # Christmas Day is a blackout: the Thursday after Christmas Eve opens on the Saturday.
        (datetime(2026, 12, 24, 20, 0, tzinfo=NY), datetime(2026, 12, 26, 9, 0, tzinfo=NY)),
    ],
)
def test_next_opening_skips_closed_days_and_blackouts(now, opens):
    assert next_opening(BRISTOL, now) == opens


def test_a_blackout_day_has_no_windows():
    assert windows_on(BRISTOL, date(2026, 12, 25)) == []
    assert [(w.open.hour, w.close.hour) for w in windows_on(BRISTOL, date(2026, 12, 26))] == [
        (9, 13)
    ]


@pytest.mark.parametrize(
    ("day", "said"),
    [("sunday", "closed on Sunday"), ("saturday", "we're open 9 AM to 1 PM")],
)
async def test_the_tool_reads_a_days_hours(day, said):
    result = await business_hours.TOOL.run(_session(), {"day": day})
    assert result["ok"] is True and said in result["say"]


async def test_the_tool_refuses_a_day_that_is_not_one():
    result = await business_hours.TOOL.run(_session(), {"day": "someday"})
    assert result["ok"] is False and "day" in result["error"]


def _session():
    class Session:
        profile = BRISTOL

    return Session()
