"""`parse_when` gives exactly the results recorded from the parser it replaced.

`tests/data/parse_when_results.json` was written by the nested-closure `parse_when` before it
became a table of rules: every phrase below, at each fixed "now" (an ordinary Monday, DST-change
days in New York and London, a year end, a weekend), as the `When` it resolved to or the refusal
(reason and spoken sentence). The refactored parser must reproduce every entry.

Regenerate only when a change of behaviour is intended:
`uv run python -m tests.test_when_characterization --write`.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.scheduling.errors import DateError
from bot.scheduling.when import parse_when

FIXTURE = Path(__file__).parent / "data" / "parse_when_results.json"

# (label, now, zone, country, max_days_ahead)
MOMENTS = [
    ("ny-monday", "2026-03-02T15:00:00+00:00", "America/New_York", "US", 30),
    ("ny-spring-forward-eve", "2026-03-07T22:00:00+00:00", "America/New_York", "US", 365),
    ("ny-spring-forward-day", "2026-03-08T07:30:00+00:00", "America/New_York", "US", 30),
    ("ny-fall-back-day", "2026-11-01T05:45:00+00:00", "America/New_York", "US", 365),
    ("ny-year-end", "2026-12-31T23:30:00+00:00", "America/New_York", "US", 365),
    ("ny-sunday", "2026-11-29T13:00:00+00:00", "America/New_York", "US", 60),
    ("london-spring-forward-day", "2026-03-29T00:30:00+00:00", "Europe/London", "GB", 365),
    ("london-fall-back-day", "2026-10-25T00:15:00+00:00", "Europe/London", "GB", 30),
    ("london-saturday", "2026-10-24T09:00:00+00:00", "Europe/London", "GB", 365),
    ("london-leap-eve", "2028-02-28T18:00:00+00:00", "Europe/London", "GB", 800),
]

# Every phrase the other tests pass to parse_when (directly or through the tools) ...
FROM_TESTS = [
    "tomorrow afternoon",
    "next Tuesday",
    "Tuesday week",
    "tuesday next week",
    "this Monday",
    "after 5",
    "before 11",
    "March 3rd at 2 PM",
    "the 3rd of March at 2:30pm",
    "2026-03-05T14:00",
    "between 1 and 3 tomorrow",
    "tomorrow at 9 in the morning",
    "next week",
    "this weekend",
    "the day after tomorrow",
    "noon on Friday",
    "3/4",
    "4/3",
    "the earliest you have",
    "February 30th",
    "April 31",
    "2027-02-29",
    "2020-01-01",
    "in 40 days",
    "in 90 days",
    "Tuesday the 4th",
    "not Monday",
    "sometime, purple",
    "2026-03-05T14:00:00Z",
    "at 25:00",
    "13 pm",
    "tomorrow or Friday",
    "February 29th",
    "March 8th at 2:30 am",
    "March 8th at 3:30 am",
    "today",
    "tomorrow",
    "in 0 days",
    "in 7 days",
    "in 20 days",
    "monday",
    "next monday",
    "monday week",
    "sunday",
    "next sunday",
    "sunday week",
    "January 1",
    "February 29",
    "December 31",
    "June 15",
    "tomorrow morning",
    "Wednesday at 2",
    "Wednesday at 9 am",
    "Monday at 9:30",
    "tomorrow at 3 pm",
    "tomorrow at 10 am",
    "Wednesday at 2 pm",
    "Friday at 9",
    "x" * 500,
]

# ... and how callers say it.
CALLER_PHRASES = [
    "",
    "   ",
    "earliest available",
    "earliest",
    "soonest",
    "first available",
    "next available appointment",
    "first free slot",
    "first open time",
    "as soon as possible",
    "as soon as you can",
    "ASAP",
    "whenever",
    "any time",
    "anytime tomorrow",
    "no preference",
    "no rush",
    "I don't mind",
    "doesn't matter",
    "first thing you have",
    "first thing tomorrow",
    "first thing in the morning",
    "first thing Monday morning",
    "earliest next week",
    "soonest in the afternoon",
    "tonight",
    "this evening",
    "this afternoon",
    "this morning",
    "tomorrow evening",
    "tomorrow night",
    "tomorrow lunchtime",
    "lunchtime on Thursday",
    "mornings",
    "afternoons are best",
    "evenings",
    "tmrw",
    "tomorow at 4",
    "the day after tomorrow in the afternoon",
    "day after tomorrow at 10",
    "in 3 days",
    "in 1 day",
    "in a week",
    "in 366 days",
    "in 999 days",
    "this week",
    "next week Tuesday",
    "next week afternoon",
    "weekend",
    "next weekend",
    "the weekend",
    "this weekend morning",
    "Saturday",
    "this Saturday",
    "next Saturday",
    "Sat",
    "Sunday afternoon",
    "tues",
    "thurs",
    "thu at 11",
    "wed after 3",
    "fri morning",
    "Mondays",
    "Fridays after 4",
    "coming Friday",
    "this coming Friday",
    "Friday week",
    "Friday next week",
    "Monday or Tuesday",
    "Monday and Tuesday",
    "Tuesday Wednesday",
    "Saturday this weekend",
    "Monday this weekend",
    "Tuesday next week at 2",
    "today or tomorrow",
    "tomorrow Friday",
    "March 3",
    "March 3rd",
    "march third",
    "the third of March",
    "3 March",
    "3rd March 2027",
    "March 3 2027",
    "Mar 10",
    "Sept 1",
    "sep 30",
    "Oct 31st",
    "November 1",
    "November 1st at 1:30",
    "November 1st at 1:30 am",
    "Nov 1 at 2 am",
    "October 25th at 1:30 am",
    "October 25 at 1:30",
    "March 29 at 1:30 am",
    "March 29th at 2:30 am",
    "March 14 2027 at 2:15 am",
    "December 25th",
    "Christmas",
    "New Year's Day",
    "January 1st 2027",
    "1 January",
    "the 1st",
    "the 15th",
    "the 29th",
    "the 30th",
    "the 31st",
    "the thirty-first",
    "the twenty first",
    "the twenty-second at 10",
    "the fifth",
    "the 32nd",
    "the 0th",
    "on the 12th in the afternoon",
    "Friday the 6th",
    "Monday the 2nd",
    "Thursday the 5th at 3",
    "February 29 2028",
    "Feb 29 2027",
    "February 31",
    "June 31st",
    "2026-13-01",
    "2026-02-30",
    "2026-03-09",
    "2027-03-14 at 2:30",
    "2026-11-01 at 01:30",
    "2026-03-05T14:00:00+01:00",
    "2026-03-05T14:00:00-0500",
    "2026-03-05 14:00",
    "2026-03-05T09:30:00",
    "3/10",
    "10/3",
    "3/10/2026",
    "3/10/27",
    "12/25",
    "25/12",
    "13/1",
    "1/13",
    "2/29",
    "2/30",
    "0/5",
    "3/4 at 2",
    "at 2",
    "at 2 pm",
    "at 2pm",
    "at 2 p.m.",
    "at 2 P.M.",
    "at 9",
    "at 9 a.m.",
    "at 12",
    "at noon",
    "at midday",
    "at midnight",
    "at 0",
    "at 00:30",
    "at 14:30",
    "at 7",
    "at 6",
    "at 11",
    "3 o'clock",
    "3 o’clock tomorrow",
    "around 2",
    "about 4:30",
    "say 10",
    "for 3",
    "2 pm",
    "2:45",
    "10am",
    "10:15am tomorrow",
    "at 9:60",
    "at 24",
    "at 0 am",
    "after 5",
    "after 5 pm",
    "after 9 am",
    "after lunch",
    "from 3",
    "past 4",
    "later than 2",
    "no earlier than 10",
    "not before 10",
    "not after 3",
    "no later than 4",
    "not later than 3",
    "4 onwards",
    "4 or later",
    "before 11",
    "before noon",
    "by 3",
    "until 4",
    "till 2",
    "earlier than 10",
    "between 2 and 4",
    "between 9 and 11 am",
    "between 9am and 11am",
    "between 10 and 2",
    "between 4 and 2",
    "between 2 and 2",
    "from 1 to 3",
    "from 9 until 12",
    "from 8 till 10 tomorrow",
    "from 2 - 4",
    "between 11:30 and 1:30",
    "between noon and 3",
    "between 2 and 4 in the morning",
    "in the morning between 8 and 10",
    "in the afternoon at 3",
    "in the evening at 7",
    "evening at 7",
    "morning at 11",
    "morning at 2",
    "afternoon at 1",
    "tomorrow at 2 and after 4",
    "after 2 at 3",
    "at 2 or 3",
    "at 2 before 4",
    "after 3 before 5",
    "tomorrow afternoon after 3",
    "tomorrow morning before 10",
    "next Tuesday after 5",
    "next Tuesday at 2:30",
    "Tuesday at 2",
    "Tuesday afternoon at 4",
    "next Friday morning",
    "this Friday evening",
    "this weekend in the afternoon",
    "next week after 4",
    "next week in the mornings",
    "Saturday morning at 10",
    "can you do Tuesday?",
    "Tuesday, please!",
    "(Wednesday)",
    '"Thursday"',
    "Thursday.",
    "tomorrow at 2.30",
    "I can't do Monday",
    "anything except Friday",
    "not in the morning",
    "no mornings",
    "besides Tuesday",
    "other than Thursday",
    "apart from the 5th",
    "any day but Monday",
    "won't work Friday",
    "purple",
    "asdf",
    "yes",
    "whatever works",
    "the usual",
    "same time next week",
    "Tuesday at 2 or Wednesday at 3",
    "the 3rd or the 4th",
    "tomorrow and the day after",
    "next month",
    "in two weeks",
    "a week today",
    "half past two",
    "quarter to three",
    "2026",
    "42",
    "at 2 on the 3rd of march",
    "march 3 at 2",
    "march 3 at 2:30",
    "march 3 2pm",
    "march 3 2 pm",
    "the 3rd at 2",
    "3rd at 2",
    "3 pm on the 3rd",
    "Monday 9",
    "Monday 9am",
    "Monday 9 to 11",
    "9 to 11 on Monday",
    "today after 6",
    "today at 1",
    "today before 9",
    "tonight at 8",
    "tonight at 11",
    "tomorrow at noon",
    "tomorrow at midnight",
    "next Monday morning first thing",
]

PHRASES = list(dict.fromkeys(FROM_TESTS + CALLER_PHRASES))


def _value(v: Any) -> Any:
    return None if v is None else v.isoformat()


def outcome(text: str, now: str, zone: str, country: str, days: int) -> dict[str, Any]:
    """What parse_when says about `text`, as plain JSON."""
    try:
        got = parse_when(
            text, datetime.fromisoformat(now), ZoneInfo(zone), country=country, max_days_ahead=days
        )
    except DateError as exc:
        return {"error": exc.reason, "spoken": exc.spoken}
    return {
        "first_day": _value(got.first_day),
        "last_day": _value(got.last_day),
        "not_before": _value(got.not_before),
        "before": _value(got.before),
        "at": _value(got.at),
        "soonest": got.soonest,
        "part": got.part,
        "described": got.described,
    }


def compute() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        label: {text: outcome(text, now, zone, country, days) for text in PHRASES}
        for label, now, zone, country, days in MOMENTS
    }


def test_fixture_covers_every_phrase_and_moment():
    recorded = json.loads(FIXTURE.read_text())
    assert sorted(recorded) == sorted(label for label, *_ in MOMENTS)
    for label in recorded:
        assert sorted(recorded[label]) == sorted(PHRASES), label


@pytest.mark.parametrize(("label", "now", "zone", "country", "days"), MOMENTS)
def test_same_results_as_recorded(label, now, zone, country, days):
    recorded = json.loads(FIXTURE.read_text())[label]
    differ = {
        text: (recorded[text], got)
        for text in PHRASES
        if (got := outcome(text, now, zone, country, days)) != recorded[text]
    }
    assert not differ, json.dumps(differ, indent=1)[:4000]


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.test_when_characterization --write")
    FIXTURE.parent.mkdir(exist_ok=True)
    results = compute()
    lines = []
    for label in sorted(results):
        rows = [
            f"  {json.dumps(text, ensure_ascii=False)}: {json.dumps(got, sort_keys=True)}"
            for text, got in sorted(results[label].items())
        ]
        lines.append(f" {json.dumps(label)}: {{\n" + ",\n".join(rows) + "\n }")
    FIXTURE.write_text("{\n" + ",\n".join(lines) + "\n}\n")  # one line per phrase: diffable
    print(f"wrote {FIXTURE} ({len(PHRASES)} phrases x {len(MOMENTS)} moments)")
