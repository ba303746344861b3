"""Each rule of `parse_when`'s grammar alone: the words it reads, what it records, what it leaves.

The phrases are already normalised (lower case, no punctuation), as `read` gets them. Whole
phrases through every rule in order are pinned by `test_when_characterization.py`.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, time
from typing import Any

import pytest

from bot.scheduling.errors import DateError
from bot.scheduling.when import RULES, RULES_BY_NAME, Reading, read

MONDAY = date(2026, 3, 2)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def one_day(day: date, kind: str = "date") -> dict[str, Any]:
    return {"days": [(day, day, kind)]}


def apply(rule: str, text: str, *, country: str = "US", **start: Any) -> tuple[dict, str]:
    """Run one rule; return the fields it changed and the words it left, spaces collapsed."""
    reading = Reading(today=MONDAY, country=country, **start)
    untouched = Reading(today=MONDAY, country=country, **start)
    left = read(text, reading, (RULES_BY_NAME[rule],))
    changed = {
        f.name: getattr(reading, f.name)
        for f in fields(Reading)
        if getattr(reading, f.name) != getattr(untouched, f.name)
    }
    return changed, " ".join(left.split())


READS = [
    # (rule, text, fields it sets, words left); options: country, or a preset Reading field
    ("not before", "not before 10", {}, "after 10"),
    ("not before", "no earlier than 10", {}, "after 10"),
    ("not after", "no later than 3", {}, "before 3"),
    ("soonest", "the earliest you have", {"soonest": True}, "the you have"),
    ("soonest", "no rush asap", {"soonest": True}, ""),
    ("soonest", "first thing you have", {"soonest": True}, ""),
    ("soonest", "tomorrow", {}, "tomorrow"),
    ("negation", "monday", {}, "monday"),
    ("first thing", "first thing in the morning", {"part": "morning", "soonest": True}, ""),
    ("first thing", "first thing tomorrow", {"part": "morning", "soonest": True}, "tomorrow"),
    ("tens ordinal", "the twenty-first", {}, "the 21th"),
    ("tens ordinal", "thirty first of may", {}, "31th of may"),
    ("ordinal word", "the third of march", {}, "the 3th of march"),
    ("ordinal word", "second or twelfth", {}, "2th or 12th"),
    ("iso date", "2026-03-05 at 2", one_day(d(3, 5)), "at 2"),
    ("slash date", "3/4", one_day(d(3, 4)), ""),
    ("slash date", "3/4", one_day(d(4, 3)), "", {"country": "GB"}),
    ("slash date", "3/4/27 at 9", one_day(d(3, 4, 2027)), "at 9"),
    ("slash date", "2/3", one_day(d(2, 3, 2027)), ""),  # passed this year: next year's
    ("month day", "march 3rd 2027", one_day(d(3, 3, 2027)), ""),
    ("month day", "march the 3 at 2", one_day(d(3, 3)), "at 2"),
    ("month day", "march 3 pm", {}, "march 3 pm"),  # 3 pm is a time, not a day
    ("month day", "march 1", one_day(d(3, 1, 2027)), ""),
    ("day of month", "the 3rd of march", one_day(d(3, 3)), ""),
    ("day of month", "3 mar 2027", one_day(d(3, 3, 2027)), ""),
    ("nth", "the 31st", one_day(d(3, 31)), ""),
    ("nth", "the 1st at 2", one_day(d(4, 1)), "at 2"),
    ("nth", "the 3 at 2", {}, "the 3 at 2"),  # no suffix: not a day of the month
    ("day after tomorrow", "the day after tomorrow", one_day(d(3, 4), "rel"), ""),
    ("tomorrow", "tmrw morning", one_day(d(3, 3), "rel"), "morning"),
    ("tomorrow", "tomorow", one_day(d(3, 3), "rel"), ""),
    ("tonight", "tonight", {**one_day(MONDAY, "rel"), "part": "evening"}, ""),
    ("tonight", "tonight", one_day(MONDAY, "rel"), "", {"part": "afternoon"}),
    ("today", "today after 5", one_day(MONDAY, "rel"), "after 5"),
    ("in n days", "in 3 days", one_day(d(3, 5), "rel"), ""),
    ("in n days", "in 1 day", one_day(d(3, 3), "rel"), ""),
    ("in a week", "in a week", one_day(d(3, 9), "rel"), ""),
    ("week", "this week", {"days": [(d(3, 2), d(3, 8), "week")]}, ""),
    ("week", "next week", {"days": [(d(3, 9), d(3, 15), "week")]}, ""),
    ("weekend", "this weekend", {"days": [(d(3, 7), d(3, 8), "week")]}, ""),
    ("weekend", "the weekend", {"days": [(d(3, 7), d(3, 8), "week")]}, ""),
    ("weekend", "next weekend", {"days": [(d(3, 14), d(3, 15), "week")]}, ""),
    ("weekday", "next tuesday", {"weekday": (1, "next")}, ""),
    ("weekday", "tuesday week", {"weekday": (1, "week")}, ""),
    ("weekday", "this coming friday", {"weekday": (4, "this")}, "this"),
    ("weekday", "mondays", {"weekday": (0, "")}, ""),
    ("weekday", "thurs at 11", {"weekday": (3, "")}, "at 11"),
    ("part of day", "in the afternoon", {"part": "afternoon"}, ""),
    ("part of day", "nights", {"part": "evening"}, ""),
    (
        "part of day",
        "lunchtime",
        {"part": "afternoon", "not_before": time(11, 30), "before": time(14)},
        "",
    ),
    ("between", "between 1 and 3", {"not_before": time(13), "before": time(15), "times": 1}, ""),
    ("between", "from 9 until 12", {"not_before": time(9), "before": time(12), "times": 1}, ""),
    (
        "between",
        "between 8 and 10",
        {"not_before": time(20), "before": time(22), "times": 1},
        "",
        {"part": "evening"},
    ),
    ("after", "after 5", {"not_before": time(17), "times": 1}, ""),
    ("after", "past 9 am", {"not_before": time(9), "times": 1}, ""),
    ("onwards", "4 onwards", {"not_before": time(16), "times": 1}, ""),
    ("onwards", "10:30 or later", {"not_before": time(10, 30), "times": 1}, ""),
    ("before", "before 11", {"before": time(11), "times": 1}, ""),
    ("before", "by noon", {"before": time(12), "times": 1}, ""),
    ("at", "around 2:30", {"at": time(14, 30), "times": 1}, ""),
    ("at", "at 9", {"at": time(21), "times": 1}, "", {"part": "evening"}),
    ("at", "at 7", {"at": time(7), "times": 1}, ""),
    ("at", "at 12", {"at": time(12), "times": 1}, ""),
    ("at", "at 0:30", {"at": time(0, 30), "times": 1}, ""),
    ("at", "at midnight", {"at": time(0), "times": 1}, ""),
    ("bare time", "9 am", {"at": time(9), "times": 1}, ""),
    ("bare time", "15:45", {"at": time(15, 45), "times": 1}, ""),
    ("bare time", "3/4", {}, "3/4"),  # a date's numbers are not times
]


@pytest.mark.parametrize("row", READS, ids=lambda row: f"{row[0]}: {row[1]}")
def test_rule_reads(row):
    rule, text, sets, left, *options = row
    start = dict(options[0]) if options else {}
    country = start.pop("country", "US")
    assert apply(rule, text, country=country, **start) == (sets, left)


REFUSALS = [
    ("negation", "not monday", "negative_preference"),
    ("negation", "anything except friday", "negative_preference"),
    ("iso date", "2026-02-30", "nonexistent_date"),
    ("slash date", "13/1", "nonexistent_date"),
    ("slash date", "2/30", "nonexistent_date"),
    ("month day", "april 31", "nonexistent_date"),
    ("month day", "feb 29 2027", "nonexistent_date"),
    ("nth", "the 32nd", "nonexistent_date"),
    ("weekday", "monday tuesday", "two_days"),
    ("at", "at 25", "bad_time"),
    ("at", "at 9:60", "bad_time"),
    ("bare time", "13 pm", "bad_time"),
]


@pytest.mark.parametrize(("rule", "text", "reason"), REFUSALS)
def test_rule_refuses(rule, text, reason):
    with pytest.raises(DateError) as caught:
        apply(rule, text)
    assert caught.value.reason == reason
    assert caught.value.spoken[0].isupper()


def test_every_rule_has_a_table_row():
    tested = {row[0] for row in READS} | {row[0] for row in REFUSALS}
    assert tested == set(RULES_BY_NAME)
    assert len(RULES_BY_NAME) == len(RULES)  # names are unique


def test_the_order_decides_who_reads_the_words():
    """Dates before times, "first thing" before ordinal words, the part of day before clock times."""
    reading = Reading(today=MONDAY)
    assert read("first thing the third at 9 in the evening", reading).split() == []
    assert reading.days == [(d(3, 3), d(3, 3), "date")]
    assert (reading.part, reading.soonest, reading.at) == ("evening", True, time(21))
