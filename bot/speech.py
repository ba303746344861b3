"""Formatting values the way they should be spoken on the phone. Pure functions."""

from __future__ import annotations

from datetime import date, datetime, time


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


def speak_phone(number: str) -> str:
    """'+18605550111' -> '8 6 0, 5 5 5, 0 1 1 1' for a NANP number, else digits in groups of 3."""
    digits = number.lstrip("+")
    if number.startswith("+1") and len(digits) == 11:
        digits = digits[1:]
        groups = [digits[:3], digits[3:6], digits[6:]]
    else:
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return ", ".join(" ".join(group) for group in groups)
