"""Owner verification: a call is the owner's only with an owner caller ID AND the right PIN."""

from __future__ import annotations

import hmac
import re

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2", "three": "3",
    "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}


def pin_digits(said: str) -> str:
    """Digits from a keyed or spoken PIN: '4 3 2 1', 'four three two one', '4321#'."""
    out = []
    for token in re.findall(r"[a-z]+|\d", said.lower()):
        if token.isdigit():
            out.append(token)
        elif token in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[token])
    return "".join(out)


def pin_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of the digits of two PINs."""
    return hmac.compare_digest(pin_digits(expected).encode(), pin_digits(given).encode())
