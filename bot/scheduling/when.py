"""Days and times from the caller's words, resolved in code from a trusted "now".

The LLM passes the caller's own words ("tomorrow afternoon", "next Tuesday after 5", "the
earliest you have", "March 3rd at 2 PM"); `parse_when` turns them into local dates and times in
the business's zone, or refuses with a sentence the receptionist can say. It never does date
arithmetic from the model. The DST rules 1-6 (local now, day words on local dates, skipped
and repeated times) live in `bot.scheduling.localtime`; the rest, each covered by tests:

7. Weekdays: "Tuesday" and "this Tuesday" are today if today is a Tuesday, else the coming one;
   "next Tuesday" is the first Tuesday after today (1 to 7 days ahead); "Tuesday week" is 7 days
   after that. Every option is read back with its date, so the caller can correct us.
8. A month and day without a year ("March 3rd") is the next such date on or after today. A date
   that does not exist ("February 30th") or has passed ("2025-01-05") is refused. "The 31st" is
   the next month, from this one, that has a 31st.
9. Numeric dates with a slash are month/day in the US and day/month elsewhere.
10. A bare hour from 1 to 6 means PM, from 7 to 11 means AM, and 12 means noon, unless "am",
    "pm", "morning", "afternoon" or "evening" says otherwise.
11. Parts of the day bound the START time: morning before 12:00, afternoon 12:00 to 17:00,
    evening from 17:00. "After 5" starts at or after 5 PM, "before 11" starts before 11 AM, "at 2"
    or "around 2" prefers the starts closest to 2 PM (within an hour either side).

The grammar is `RULES`, an ordered table of (name, pattern, handler) rules applied by `read`:
each rule consumes the words it understands and records their meaning in a `Reading`; then
`parse_when` checks the reading as a whole (one day, one time or range) and resolves it.
Invariant: a phrase's meaning depends only on the words, `now`, the zone, the country and the
horizon; rules only ever consume words, so each rule can be tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling.errors import DateError
from bot.scheduling.localtime import local_now, to_utc
from bot.speech import ordinal, speak_day, speak_time

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
AT_WINDOW = timedelta(hours=1)  # "at 2" looks this far either side of 2 PM

_WEEKDAY_RE = (
    r"(?P<wd>mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_TIME_RE = r"(?:(?P<{p}h>\d{{1,2}})(?::(?P<{p}m>\d{{2}}))?\s*(?P<{p}ap>am|pm)?|(?P<{p}word>noon|midday|midnight))"
_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
_SOONEST = (
    r"\b(earliest|soonest|first available|next available|first (?:free |open )?(?:slot|time|"
    r"appointment|opening)|as soon as (?:possible|you can)|asap|whenever|any ?time|"
    r"no preference|no rush|don'?t mind|doesn'?t matter|first thing you have)\b"
)
_NEGATION = r"\b(not|except|excluding|besides|other than|apart from|isn'?t|can'?t|won'?t|no)\b"


@dataclass(frozen=True)
class When:
    """A resolved preference: which local days, and which local start times within them."""

    first_day: date
    last_day: date
    not_before: time | None = None  # earliest local start time
    before: time | None = None  # local start strictly before this
    at: time | None = None  # preferred start; closest first
    soonest: bool = False  # the caller wants the earliest time available
    part: str | None = None  # morning | afternoon | evening, when said
    described: str = ""  # what we understood, speakable ("tomorrow afternoon, ...")

    @property
    def single_day(self) -> bool:
        """True when the caller named exactly one day."""
        return self.first_day == self.last_day

    def admits(self, local_start: datetime) -> bool:
        """Whether a local start time fits the time-of-day part of the preference."""
        t = local_start.time()
        if not self.first_day <= local_start.date() <= self.last_day:
            return False
        if self.not_before is not None and t < self.not_before:
            return False
        if self.before is not None and t >= self.before:
            return False
        if self.at is not None:
            wanted = datetime.combine(local_start.date(), self.at)
            if abs(local_start.replace(tzinfo=None) - wanted) > AT_WINDOW:
                return False
        return True


# ---- parsing -------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    text = text.lower().strip()
    if re.search(r"\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:z|[+-]\d{2}:?\d{2})\b", text):
        raise DateError(
            "Pass the day and time as the caller said them, in local time, not converted.",
            reason="offset_given",
        )
    text = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})t(\d{1,2}:\d{2})", r"\1 at \2", text)
    text = re.sub(r"\b(\d{1,2}:\d{2}):\d{2}\b", r"\1", text)
    text = re.sub(r"\b([ap])\.\s?m\.?", r"\1m", text)
    text = text.replace("o'clock", "").replace("o’clock", "").replace("’", "'")
    text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text)
    text = re.sub(r"[,;!?()\"]", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _month_number(word: str) -> int:
    return next(i for i, name in enumerate(MONTH_NAMES, 1) if name.startswith(word[:3]))


def _weekday_number(word: str) -> int:
    return next(i for i, name in enumerate(WEEKDAY_NAMES) if name.startswith(word[:3]))


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if 1 <= month <= 12 and 1 <= day <= 31:
            raise DateError(
                f"There is no {MONTH_NAMES[month - 1].capitalize()} {ordinal(day)}"
                + (f" in {year}" if month == 2 and day == 29 else "")
                + ". Which day did you mean?",
                reason="nonexistent_date",
            ) from None
        raise DateError(
            "That date doesn't exist. Which day did you mean?", reason="nonexistent_date"
        ) from None


def _next_month_day(today: date, month: int, day: int) -> date:
    """The next `month`/`day` on or after today (rule 8); Feb 29 waits for a leap year."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:
            if not (month == 2 and day == 29):
                return _make_date(year, month, day)  # raises the speakable error
            continue
        if candidate >= today:
            return candidate
    return _make_date(today.year, month, day)


def _next_day_of_month(today: date, day: int) -> date:
    if not 1 <= day <= 31:
        raise DateError(
            "That isn't a day of the month. Which day did you mean?", reason="nonexistent_date"
        )
    year, month = today.year, today.month
    for _ in range(14):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    raise DateError("That date doesn't exist. Which day did you mean?", reason="nonexistent_date")


def _weekday_on_or_after(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def _time_of(match: re.Match[str], prefix: str, part: str | None) -> time:
    bad = DateError("That time doesn't exist. What time did you mean?", reason="bad_time")
    word = match.group(f"{prefix}word")
    if word:
        return time(0, 0) if word == "midnight" else time(12, 0)
    hour, minute = int(match.group(f"{prefix}h")), int(match.group(f"{prefix}m") or 0)
    meridiem = match.group(f"{prefix}ap")
    if minute > 59:
        raise bad
    if meridiem:
        if not 1 <= hour <= 12:
            raise bad
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif hour > 23:
        raise bad
    elif hour >= 13 or hour == 0:
        pass  # 24-hour clock
    elif part == "morning":
        hour = hour % 12
    elif part in ("afternoon", "evening"):
        hour = hour % 12 + 12
    elif 1 <= hour <= 6:
        hour += 12  # rule 10; 7 to 11 stay morning, 12 is noon
    return time(hour, minute)


_PARTS = {
    "morning": (None, time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), None),
}


# ---- the grammar ---------------------------------------------------------------------------------


@dataclass
class Reading:
    """What the rules have read so far from one phrase."""

    today: date
    country: str = "US"
    days: list[tuple[date, date, str]] = field(default_factory=list)  # (first, last, kind)
    weekday: tuple[int, str] | None = None  # (weekday, qualifier: "", "this", "next", "week")
    not_before: time | None = None
    before: time | None = None
    at: time | None = None
    part: str | None = None  # morning | afternoon | evening
    soonest: bool = False
    times: int = 0  # time phrases read; an "at" with a range is refused when there are two

    def add_day(self, day: date, said: str) -> None:
        """One day, `said` as a "date" (the 3rd, 3/4) or relative ("rel": tomorrow)."""
        self.days.append((day, day, said))


@dataclass(frozen=True)
class Rule:
    """One rule of the grammar: words that mean something, and what they mean.

    `read` hands every match of `pattern` in what is left of the phrase, leftmost first, to
    `handle`, which records the meaning in the `Reading` (or raises a speakable `DateError`) and
    returns the text that replaces the match: a space when it returns None, so no later rule
    reads those words again, or the words they stand for ("not before" -> "after").
    """

    name: str
    pattern: re.Pattern[str]
    handle: Callable[[re.Match[str], Reading], str | None]


def _rule(name: str, pattern: str, handle: Callable[[re.Match[str], Reading], str | None]) -> Rule:
    return Rule(name, re.compile(pattern), handle)


def read(text: str, reading: Reading, rules: tuple[Rule, ...] | None = None) -> str:
    """Apply `rules` (default: the whole grammar) in order to normalised text, filling `reading`.

    Returns the words no rule read.
    """
    for rule in RULES if rules is None else rules:
        while (match := rule.pattern.search(text)) is not None:
            replacement = rule.handle(match, reading)
            text = f"{text[: match.start()]}{replacement or ' '}{text[match.end() :]}"
    return text


def _soonest(m: re.Match[str], r: Reading) -> None:
    r.soonest = True


def _refuse_negative(m: re.Match[str], r: Reading) -> None:
    raise DateError(
        "Tell me a day or time that works rather than one that doesn't, and I'll look.",
        reason="negative_preference",
    )


def _first_thing(m: re.Match[str], r: Reading) -> None:
    r.part, r.soonest = "morning", True


def _tens_ordinal(m: re.Match[str], r: Reading) -> str:
    return f"{(20 if m[1] == 'twenty' else 30) + _ORDINAL_WORDS[m[2]]}th"


def _ordinal_word(m: re.Match[str], r: Reading) -> str:
    return f"{_ORDINAL_WORDS[m[1]]}th"


def _iso_date(m: re.Match[str], r: Reading) -> None:
    r.add_day(_make_date(int(m[1]), int(m[2]), int(m[3])), "date")


def _slash_date(m: re.Match[str], r: Reading) -> None:
    a, b = int(m[1]), int(m[2])
    month, day = (a, b) if r.country == "US" else (b, a)  # rule 9
    if not 1 <= month <= 12:
        raise DateError(
            "That date doesn't exist. Which day did you mean?", reason="nonexistent_date"
        )
    if m[3]:
        year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
        r.add_day(_make_date(year, month, day), "date")
    else:
        _make_date(2024, month, day)  # validates (2024 is a leap year)
        r.add_day(_next_month_day(r.today, month, day), "date")


def _month_day(m: re.Match[str], r: Reading) -> None:
    month = _month_number(m["mon"])
    groups = m.groupdict()
    day = int(groups.get("d1") or groups["d2"])
    if m["year"]:
        r.add_day(_make_date(int(m["year"]), month, day), "date")
    else:
        _make_date(2024, month, day)
        r.add_day(_next_month_day(r.today, month, day), "date")


def _day_of_month(m: re.Match[str], r: Reading) -> None:
    r.add_day(_next_day_of_month(r.today, int(m[1])), "date")


def _days_ahead(days: int) -> Callable[[re.Match[str], Reading], None]:
    def handle(m: re.Match[str], r: Reading) -> None:
        r.add_day(r.today + timedelta(days=days), "rel")

    return handle


def _in_n_days(m: re.Match[str], r: Reading) -> None:
    r.add_day(r.today + timedelta(days=int(m[1])), "rel")


def _tonight(m: re.Match[str], r: Reading) -> None:
    r.add_day(r.today, "rel")
    r.part = r.part or "evening"


def _week(m: re.Match[str], r: Reading) -> None:
    monday = r.today - timedelta(days=r.today.weekday())
    if m[1] == "next":
        monday += timedelta(days=7)
    r.days.append((max(monday, r.today), monday + timedelta(days=6), "week"))


def _weekend(m: re.Match[str], r: Reading) -> None:
    saturday = _weekday_on_or_after(r.today, 5)
    if r.today.weekday() == 6:
        saturday = r.today - timedelta(days=1)
    if m[1] == "next":
        saturday += timedelta(days=7)
    r.days.append((max(saturday, r.today), saturday + timedelta(days=1), "week"))


def _weekday(m: re.Match[str], r: Reading) -> None:
    if r.weekday is not None:
        raise DateError(
            "Which one day would you like? I can look at one day at a time.", reason="two_days"
        )
    qualifier = "week" if m["after"] else (m["q"] or "").replace("coming", "this")
    r.weekday = (_weekday_number(m["wd"]), qualifier)


def _part_of_day(m: re.Match[str], r: Reading) -> None:
    word = m[1]
    r.part = {"lunchtime": "afternoon", "night": "evening"}.get(word, word)
    if word == "lunchtime":
        r.not_before, r.before = time(11, 30), time(14, 0)


def _between(m: re.Match[str], r: Reading) -> None:
    r.not_before, r.before = _time_of(m, "a", r.part), _time_of(m, "b", r.part)
    r.times += 1


def _after(m: re.Match[str], r: Reading) -> None:
    r.not_before = _time_of(m, "a", r.part)
    r.times += 1


def _before(m: re.Match[str], r: Reading) -> None:
    r.before = _time_of(m, "a", r.part)
    r.times += 1


def _at(m: re.Match[str], r: Reading) -> None:
    r.at = _time_of(m, "a", r.part)
    r.times += 1


_T1, _T2 = _TIME_RE.format(p="a"), _TIME_RE.format(p="b")

# The grammar, in the order it reads. Order matters: words that look like negations but are
# positive come before the negation check; "first available" and "first thing" before ordinal
# words turn "first" into "1th"; explicit dates before times, so a date's numbers are not read as
# times; the part of the day before clock times, which it disambiguates ("at 9 in the evening").
RULES: tuple[Rule, ...] = (
    # Positive phrases that contain negation words.
    _rule("not before", r"\b(?:not|no) (?:before|earlier than)\b", lambda m, r: " after "),
    _rule("not after", r"\b(?:not|no) (?:after|later than)\b", lambda m, r: " before "),
    _rule("soonest", _SOONEST, _soonest),
    _rule("negation", _NEGATION, _refuse_negative),
    _rule("first thing", r"\bfirst thing(?: in the morning)?\b", _first_thing),
    # Ordinal words as numbers: "twenty-first" -> "21th", "third" -> "3th".
    _rule(
        "tens ordinal",
        r"\b(twenty|thirty)[\s-](first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b",
        _tens_ordinal,
    ),
    _rule("ordinal word", r"\b(" + "|".join(_ORDINAL_WORDS) + r")\b", _ordinal_word),
    # Dates (rules 8 and 9).
    _rule("iso date", r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", _iso_date),
    _rule("slash date", r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?\b", _slash_date),
    _rule(
        "month day",
        r"\b(?P<mon>" + _MONTH_RE + r")\s+(?:the\s+)?(?P<d2>\d{1,2})(?:st|nd|rd|th)?\b"
        r"(?!\s*(?:am|pm|:))(?:\s+(?P<year>\d{4}))?",
        _month_day,
    ),
    _rule(
        "day of month",
        r"\b(?:the\s+)?(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>" + _MONTH_RE + r")\b"
        r"(?:\s+(?P<year>\d{4}))?",
        _month_day,
    ),
    _rule("nth", r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b", _day_of_month),
    # Days relative to today (rule 2).
    _rule("day after tomorrow", r"\b(?:the )?day after tomorrow\b", _days_ahead(2)),
    _rule("tomorrow", r"\b(?:tomorrow|tmrw|tomorow)\b", _days_ahead(1)),
    _rule("tonight", r"\btonight\b", _tonight),
    _rule("today", r"\btoday\b", _days_ahead(0)),
    _rule("in n days", r"\bin (\d{1,3}) days?\b", _in_n_days),
    _rule("in a week", r"\bin a week\b", _days_ahead(7)),
    _rule("week", r"\b(this|next) week\b", _week),
    _rule("weekend", r"\b(?:(this|next|the) )?weekend\b", _weekend),
    _rule(
        "weekday",
        r"\b(?:(?P<q>this|next|coming) )?" + _WEEKDAY_RE + r"s?\b(?P<after> week)?",
        _weekday,
    ),
    # Times of day (rules 10 and 11).
    _rule(
        "part of day",
        r"\b(?:in the |this )?(morning|afternoon|evening|lunchtime|night)s?\b",
        _part_of_day,
    ),
    _rule(
        "between",
        r"\b(?:between|from) " + _T1 + r" (?:and|to|until|till|-) " + _T2 + r"(?!\d)",
        _between,
    ),
    _rule("after", r"\b(?:after|from|later than|past|no earlier than) " + _T1 + r"(?!\d)", _after),
    _rule("onwards", r"(?<![\d:])" + _T1 + r" (?:onwards|or later)\b", _after),
    _rule(
        "before",
        r"\b(?:before|by|until|till|earlier than|no later than) " + _T1 + r"(?!\d)",
        _before,
    ),
    _rule("at", r"\b(?:at|around|about|for|say) " + _T1 + r"(?!\d)", _at),
    _rule("bare time", r"(?<![\d:/])" + _T1 + r"(?![\d:/])", _at),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}


def parse_when(
    text: str, now: datetime, tz: ZoneInfo, *, country: str = "US", max_days_ahead: int = 365
) -> When:
    """Resolve the caller's words into a `When`, or raise `DateError` with a speakable reason."""
    today = local_now(now, tz).date()
    horizon = today + timedelta(days=max_days_ahead)
    raw = _normalise(text) or "earliest"
    parsed = Reading(today=today, country=country)
    read(raw, parsed)
    if parsed.times > 1 and parsed.at is not None and (parsed.not_before or parsed.before):
        raise DateError(
            "What time would you like? One time or one range, please.", reason="two_times"
        )
    if (
        parsed.part
        and parsed.part in _PARTS
        and parsed.not_before is None
        and parsed.before is None
    ):
        parsed.not_before, parsed.before = _PARTS[parsed.part]
    if parsed.not_before and parsed.before and parsed.before <= parsed.not_before:
        raise DateError("That time range doesn't work. What times suit you?", reason="bad_range")

    nothing = not (parsed.days or parsed.weekday or parsed.part or parsed.soonest or parsed.times)
    if nothing:
        raise DateError(
            "I couldn't tell which day or time you meant. You can say something like tomorrow "
            "morning, next Tuesday, or the earliest you have.",
            reason="unparsed",
        )

    if re.search(r"\bor\b", raw) and len(parsed.days) + (parsed.weekday is not None) > 1:
        raise DateError(
            "Which one day would you like? I can look at one day at a time.", reason="two_days"
        )
    first, last = _resolve_days(parsed, today, horizon)
    if last < today:
        raise DateError(
            f"{speak_day(last, today)} has already passed. Which day would you like?",
            reason="past_date",
        )
    if first > horizon:
        raise DateError(
            f"I can only book up to {max_days_ahead} days ahead, so up to "
            f"{speak_day(horizon, today)}. Would a day before then work?",
            reason="too_far_ahead",
        )
    first, last = max(first, today), min(last, horizon)
    if first == last and parsed.at is not None:
        to_utc(first, parsed.at, tz)  # rule 4: refuse a time the clocks skip that day
    soonest = parsed.soonest or not (parsed.days or parsed.weekday)
    when = When(
        first_day=first,
        last_day=last,
        not_before=parsed.not_before,
        before=parsed.before,
        at=parsed.at,
        soonest=soonest,
        part=parsed.part,
    )
    return replace(when, described=describe(when, today))


def _resolve_days(parsed: Reading, today: date, horizon: date) -> tuple[date, date]:
    two_days = DateError(
        "Which one day would you like? I can look at one day at a time.", reason="two_days"
    )
    singles = sorted({a for a, _, kind in parsed.days if kind in ("date", "rel")})
    ranges = [(a, b) for a, b, kind in parsed.days if kind == "week"]
    if len(singles) > 1 or len(ranges) > 1:
        raise two_days
    if singles and ranges:
        if not ranges[0][0] <= singles[0] <= ranges[0][1]:
            raise two_days
        ranges = []
    if parsed.weekday is not None:
        weekday, qualifier = parsed.weekday
        if singles:
            day = singles[0]
            if day.weekday() != weekday:
                raise DateError(
                    f"The {ordinal(day.day)} is a {day.strftime('%A')}, not a "
                    f"{WEEKDAY_NAMES[weekday].capitalize()}. Which did you mean?",
                    reason="weekday_mismatch",
                )
            return day, day
        if ranges:
            start, end = ranges[0]
            day = start - timedelta(days=start.weekday()) + timedelta(days=weekday)
            return day, day  # a weekday earlier this week is in the past: refused by the caller
        if qualifier == "next":
            day = _weekday_on_or_after(today + timedelta(days=1), weekday)
        elif qualifier == "week":
            day = _weekday_on_or_after(today + timedelta(days=1), weekday) + timedelta(days=7)
        else:
            day = _weekday_on_or_after(today, weekday)
        return day, day
    if singles:
        return singles[0], singles[0]
    if ranges:
        return ranges[0]
    return today, horizon


def describe(when: When, today: date) -> str:
    """What was understood, in words: 'Tuesday the 3rd, in the afternoon'."""
    if when.single_day:
        if when.first_day == today:
            day = "today"
        elif when.first_day == today + timedelta(days=1):
            day = f"tomorrow, {speak_day(when.first_day, today)}"
        else:
            day = speak_day(when.first_day, today)
    elif when.soonest and when.first_day == today:
        day = "the earliest time available"
    else:
        day = f"between {speak_day(when.first_day, today)} and {speak_day(when.last_day, today)}"
    if when.at is not None:
        return f"{day}, around {speak_time(when.at)}"
    if when.part in _PARTS and (when.not_before, when.before) == _PARTS[when.part]:
        return f"{day}, in the {when.part}"
    if when.not_before and when.before:
        return f"{day}, between {speak_time(when.not_before)} and {speak_time(when.before)}"
    if when.not_before:
        return f"{day}, from {speak_time(when.not_before)}"
    if when.before:
        return f"{day}, before {speak_time(when.before)}"
    return day
