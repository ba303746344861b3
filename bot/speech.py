"""Formatting values the way they should be spoken on the phone. Pure functions."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import phonenumbers


def ordinal(n: int) -> str:
    """1 -> '1st', 22 -> '22nd', 13 -> '13th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def speak_time(t: time | datetime) -> str:
    """14:00 -> '2 PM', 9:30 -> '9:30 AM', 12:00 -> '12 PM' (noon)."""
    hour = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"


def speak_date(d: date | datetime) -> str:
    """2026-11-24 -> 'Tuesday, November the 24th'."""
    return f"{d.strftime('%A')}, {d.strftime('%B')} the {ordinal(d.day)}"


def speak_day(day: date, today: date | None = None) -> str:
    """'Tuesday the 3rd', with 'of March' when the month differs from today's (or no today)."""
    text = f"{day.strftime('%A')} the {ordinal(day.day)}"
    if today is None or (day.year, day.month) != (today.year, today.month):
        text += f" of {day.strftime('%B')}"
    return text


def speak_phone(number: str, country: str | None = None) -> str:
    """A phone number grouped as people read it aloud, digit by digit.

    A number sharing `country`'s calling code (ISO code; default: the number's own) is read in
    its national form, as written there: '+18605550111' -> '8 6 0, 5 5 5, 0 1 1 1';
    '+447700900123' (GB) -> '0 7 7 0 0, 9 0 0, 1 2 3'. Any other is read in international form,
    starting with 'plus'. Groups of six digits or more are halved, as nobody reads six at once.
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        digits = "".join(ch for ch in number if ch.isdigit())
        return _speak_groups([digits[i : i + 3] for i in range(0, len(digits), 3)])
    same_plan = country is not None and (
        phonenumbers.country_code_for_region(country.upper()) == parsed.country_code
    )
    if country is None or same_plan:
        written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        prefix = ""
    else:
        written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        prefix = "plus "
    groups = [g for g in re.split(r"\D+", written) if g]
    return prefix + _speak_groups(groups)


def _speak_groups(groups: list[str]) -> str:
    spoken: list[str] = []
    for group in groups:
        if len(group) >= 6:
            half = len(group) // 2
            spoken += [group[:half], group[half:]]
        else:
            spoken.append(group)
    return ", ".join(" ".join(group) for group in spoken)


def speak_code(code: str) -> str:
    """'417209' -> '4 1 7, 2 0 9': digits one by one, in threes."""
    groups = [code[i : i + 3] for i in range(0, len(code), 3)]
    return ", ".join(" ".join(group) for group in groups)
