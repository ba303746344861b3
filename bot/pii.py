"""Helpers that keep caller details out of logs."""

from __future__ import annotations

import hashlib


def mask_phone(number: str | None) -> str:
    """`+18605550111` -> `+1******0111`; enough to tell calls apart, not to dial."""
    if not number:
        return "-"
    digits = number.lstrip("+")
    if len(digits) <= 4:
        return "***"
    return (
        ("+" if number.startswith("+") else "") + digits[0] + "*" * (len(digits) - 5) + digits[-4:]
    )


def fingerprint(text: str | None) -> str:
    """A short stable hash for correlating log lines without printing the value."""
    if not text:
        return "-"
    return hashlib.sha256(text.encode()).hexdigest()[:10]
