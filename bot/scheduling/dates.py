"""Days and times from the caller's words, resolved in code from a trusted "now".

The LLM passes the caller's own words ("tomorrow afternoon", "next Tuesday after 5", "the
earliest you have", "March 3rd at 2 PM"); this module turns them into local dates and times in
the business's zone. The rules, each covered by tests (property tests for 1-6):

1. "Now" is the server clock (UTC) converted to the business's IANA zone. The model never does
   date arithmetic.
2. Day words move along local calendar dates: "tomorrow" is the local date after today, whatever
   the clocks do overnight.
3. Durations (service length, buffer, minimum notice) are elapsed time, computed in UTC.
4. Spring forward: a local time the clocks skip (02:30 on 8 March 2026 in New York, 01:30 on
   29 March 2026 in London) does not exist. Asking for it gets a speakable refusal; availability
   never offers it.
5. Fall back: a local time that happens twice (01:30 on 1 November 2026 in New York, on
   25 October 2026 in London) means its FIRST occurrence (`fold=0`, still on summer time). The
   repeated hour is offered once, and its spoken text says "before the clocks go back".
6. Opening hours that start or end inside a gap are shifted forward by the gap (zoneinfo's
   `fold=0` reading): a 02:30 opening on a spring-forward night opens at 03:30.
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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling.errors import DateError
from bot.speech import ordinal, speak_time

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
_SOONEST = re.compile(
    r"\b(earliest|soonest|first available|next available|first (?:free |open )?(?:slot|time|"
    r"appointment|opening)|as soon as (?:possible|you can)|asap|whenever|any ?time|"
    r"no preference|no rush|don'?t mind|doesn'?t matter|first thing you have)\b"
)
_NEGATION = re.compile(
    r"\b(not|except|excluding|besides|other than|apart from|isn'?t|can'?t|won'?t|no)\b"
)


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


# ---- local time <-> UTC -------------------------------------------------------------------------


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


# ---- speaking ------------------------------------------------------------------------------------


def speak_day(day: date, today: date | None = None) -> str:
    """'Tuesday the 3rd', with 'of March' when the month differs from today's (or no today)."""
    text = f"{day.strftime('%A')} the {ordinal(day.day)}"
    if today is None or (day.year, day.month) != (today.year, today.month):
        text += f" of {day.strftime('%B')}"
    return text


def speak_slot(start: datetime, tz: ZoneInfo, today: date | None = None) -> str:
    """A slot start as the caller hears it: 'Tuesday the 3rd at 2 PM'."""
    local = start.astimezone(tz)
    text = f"{speak_day(local.date(), today)} at {speak_time(local)}"
    if is_repeated(local.date(), local.time().replace(tzinfo=None), tz):
        text += ", before the clocks go back"
    return text


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


def _ordinal_words(text: str) -> str:
    def tens(match: re.Match[str]) -> str:
        base = 20 if match.group(1) == "twenty" else 30
        return f"{base + _ORDINAL_WORDS[match.group(2)]}th"

    text = re.sub(
        r"\b(twenty|thirty)[\s-](first|second|third|fourth|fifth|sixth|seventh|"
        r"eighth|ninth)\b",
        tens,
        text,
    )
    return re.sub(
        r"\b(" + "|".join(_ORDINAL_WORDS) + r")\b",
        lambda m: f"{_ORDINAL_WORDS[m.group(1)]}th",
        text,
    )


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


@dataclass
class _Parsed:
    days: list[tuple[date, date, str]]  # (first, last, how it was said)
    weekday: tuple[int, str] | None = None  # (weekday, qualifier: "", "this", "next", "week")
    not_before: time | None = None
    before: time | None = None
    at: time | None = None
    part: str | None = None  # morning | afternoon | evening
    soonest: bool = False


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


def parse_when(
    text: str, now: datetime, tz: ZoneInfo, *, country: str = "US", max_days_ahead: int = 365
) -> When:
    """Resolve the caller's words into a `When`, or raise `DateError` with a speakable reason."""
    today = local_now(now, tz).date()
    horizon = today + timedelta(days=max_days_ahead)
    raw = _normalise(text)
    if not raw:
        raw = "earliest"
    parsed = _Parsed(days=[])
    work = raw

    # Phrases that contain negation words but are positive, before the negation check.
    work = re.sub(r"\b(?:not|no) (?:before|earlier than)\b", " after ", work)
    work = re.sub(r"\b(?:not|no) (?:after|later than)\b", " before ", work)
    if _SOONEST.search(work):
        parsed.soonest = True
        work = _SOONEST.sub(" ", work)
    if _NEGATION.search(work):
        raise DateError(
            "Tell me a day or time that works rather than one that doesn't, and I'll look.",
            reason="negative_preference",
        )
    if re.search(r"\bfirst thing\b", work):
        parsed.part, parsed.soonest = "morning", True
        work = re.sub(r"\bfirst thing(?: in the morning)?\b", " ", work)
    work = _ordinal_words(work)

    def take(pattern: str, handle) -> None:
        nonlocal work
        while True:
            match = re.search(pattern, work)
            if not match:
                return
            handle(match)
            work = work[: match.start()] + " " + work[match.end() :]

    def add_day(d: date, said: str) -> None:
        parsed.days.append((d, d, said))

    # Explicit dates first, so their numbers are not read as times.
    def iso(m: re.Match[str]) -> None:
        add_day(_make_date(int(m[1]), int(m[2]), int(m[3])), "date")

    take(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", iso)

    def slash(m: re.Match[str]) -> None:
        a, b = int(m[1]), int(m[2])
        month, day = (a, b) if country == "US" else (b, a)
        if not 1 <= month <= 12:
            raise DateError(
                "That date doesn't exist. Which day did you mean?", reason="nonexistent_date"
            )
        if m[3]:
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            add_day(_make_date(year, month, day), "date")
        else:
            _make_date(2024, month, day)  # validates (2024 is a leap year)
            add_day(_next_month_day(today, month, day), "date")

    take(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?\b", slash)

    def month_day(m: re.Match[str]) -> None:
        month = _month_number(m["mon"])
        groups = m.groupdict()
        day = int(groups.get("d1") or groups.get("d2"))
        if m["year"]:
            add_day(_make_date(int(m["year"]), month, day), "date")
        else:
            _make_date(2024, month, day)
            add_day(_next_month_day(today, month, day), "date")

    take(
        r"\b(?P<mon>" + _MONTH_RE + r")\s+(?:the\s+)?(?P<d2>\d{1,2})(?:st|nd|rd|th)?\b"
        r"(?!\s*(?:am|pm|:))(?:\s+(?P<year>\d{4}))?",
        month_day,
    )
    take(
        r"\b(?:the\s+)?(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>" + _MONTH_RE + r")\b"
        r"(?:\s+(?P<year>\d{4}))?",
        month_day,
    )
    take(
        r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b",
        lambda m: add_day(_next_day_of_month(today, int(m[1])), "date"),
    )

    # Relative days.
    take(r"\b(?:the )?day after tomorrow\b", lambda m: add_day(today + timedelta(days=2), "rel"))
    take(r"\b(?:tomorrow|tmrw|tomorow)\b", lambda m: add_day(today + timedelta(days=1), "rel"))

    def tonight(m: re.Match[str]) -> None:
        add_day(today, "rel")
        parsed.part = parsed.part or "evening"

    take(r"\btonight\b", tonight)
    take(r"\btoday\b", lambda m: add_day(today, "rel"))
    take(
        r"\bin (\d{1,3}) days?\b",
        lambda m: add_day(today + timedelta(days=int(m[1])), "rel"),
    )
    take(r"\bin a week\b", lambda m: add_day(today + timedelta(days=7), "rel"))

    def week(m: re.Match[str]) -> None:
        monday = today - timedelta(days=today.weekday())
        if m[1] == "next":
            monday += timedelta(days=7)
        parsed.days.append((max(monday, today), monday + timedelta(days=6), "week"))

    take(r"\b(this|next) week\b", week)

    def weekend(m: re.Match[str]) -> None:
        saturday = _weekday_on_or_after(today, 5)
        if today.weekday() == 6:
            saturday = today - timedelta(days=1)
        if m[1] == "next":
            saturday += timedelta(days=7)
        parsed.days.append((max(saturday, today), saturday + timedelta(days=1), "week"))

    take(r"\b(?:(this|next|the) )?weekend\b", weekend)

    def weekday(m: re.Match[str]) -> None:
        if parsed.weekday is not None:
            raise DateError(
                "Which one day would you like? I can look at one day at a time.", reason="two_days"
            )
        qualifier = "week" if m["after"] else (m["q"] or "").replace("coming", "this")
        parsed.weekday = (_weekday_number(m["wd"]), qualifier)

    take(r"\b(?:(?P<q>this|next|coming) )?" + _WEEKDAY_RE + r"s?\b(?P<after> week)?", weekday)

    # Times of day.
    def part(m: re.Match[str]) -> None:
        word = m[1]
        parsed.part = {"lunchtime": "afternoon", "night": "evening"}.get(word, word)
        if word == "lunchtime":
            parsed.not_before, parsed.before = time(11, 30), time(14, 0)

    take(r"\b(?:in the |this )?(morning|afternoon|evening|lunchtime|night)s?\b", part)

    t1, t2 = _TIME_RE.format(p="a"), _TIME_RE.format(p="b")
    timed = {"n": 0}

    def between(m: re.Match[str]) -> None:
        parsed.not_before = _time_of(m, "a", parsed.part)
        parsed.before = _time_of(m, "b", parsed.part)
        timed["n"] += 1

    def after(m: re.Match[str]) -> None:
        parsed.not_before = _time_of(m, "a", parsed.part)
        timed["n"] += 1

    def before(m: re.Match[str]) -> None:
        parsed.before = _time_of(m, "a", parsed.part)
        timed["n"] += 1

    def at(m: re.Match[str]) -> None:
        parsed.at = _time_of(m, "a", parsed.part)
        timed["n"] += 1

    take(r"\b(?:between|from) " + t1 + r" (?:and|to|until|till|-) " + t2 + r"(?!\d)", between)
    take(r"\b(?:after|from|later than|past|no earlier than) " + t1 + r"(?!\d)", after)
    take(r"(?<![\d:])" + t1 + r" (?:onwards|or later)\b", after)
    take(r"\b(?:before|by|until|till|earlier than|no later than) " + t1 + r"(?!\d)", before)
    take(r"\b(?:at|around|about|for|say) " + t1 + r"(?!\d)", at)
    take(r"(?<![\d:/])" + t1 + r"(?![\d:/])", at)
    if timed["n"] > 1 and parsed.at is not None and (parsed.not_before or parsed.before):
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

    nothing = not (parsed.days or parsed.weekday or parsed.part or parsed.soonest or timed["n"])
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


def _resolve_days(parsed: _Parsed, today: date, horizon: date) -> tuple[date, date]:
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
