"""Owner verification: a call is the owner's only with an owner caller ID AND the right PIN.

The PIN is typed on the keypad and ended with #; it is never spoken. `OWNER_PIN` is 4 to 8 digits
(checked at start-up); anything else never matches. While a call from an owner number has not
proved the PIN, digits the caller says aloud are withheld from the transcript (`withhold_digits`)
before it reaches the LLM or the database: the words did reach the speech-to-text provider, but go
no further.
"""

from __future__ import annotations

import hmac
import re

PIN_PATTERN = re.compile(r"[0-9]{4,8}")
WITHHELD = "[digits withheld]"

# Words that are always numbers, words that are numbers only between two numbers ("four oh
# two", "six to one"), and words that are numbers only before one ("double four").
_NUMBER_WORDS = frozenset(
    "zero nought one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
    "seventy eighty ninety hundred thousand niner".split()
)
_BETWEEN_WORDS = frozenset("oh o to too for won".split())
_BEFORE_WORDS = frozenset("double triple".split())
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w]+|_+")
_JOINER = re.compile(r"^[\s,.\-–—/]+$")


def pin_matches(expected: str, keyed: str) -> bool:
    """Constant-time comparison of a keypad entry with the PIN; a malformed PIN never matches."""
    if not PIN_PATTERN.fullmatch(expected) or not keyed.isascii() or not keyed.isdigit():
        return False
    return hmac.compare_digest(expected.encode(), keyed.encode())


def withhold_digits(text: str) -> str:
    """Replace every run of spoken or written digits with '[digits withheld]'.

    'my PIN is 4 3 2 1' -> 'my PIN is [digits withheld]'; 'four, three two-one' -> one run;
    'the one for Tuesday' -> 'the [digits withheld] for Tuesday' (a lone 'one' is withheld too:
    callers read PINs one digit at a time, and each digit may arrive as its own transcript).
    """
    tokens = _TOKEN.findall(text)
    kinds = [_kind(token) for token in tokens]
    words = [i for i, kind in enumerate(kinds) if kind != "joiner"]
    number = [kinds[i] == "number" for i in range(len(tokens))]
    changed = True
    while changed:  # "four oh oh two": each 'oh' becomes a number once a neighbour is one
        changed = False
        for position, i in enumerate(words):
            if number[i] or kinds[i] not in ("between", "before"):
                continue
            before = words[position - 1] if position > 0 else None
            after = words[position + 1] if position + 1 < len(words) else None
            next_is_number = after is not None and (
                number[after] or (kinds[i] == "between" and kinds[after] == "between")
            )
            if kinds[i] == "between":
                number[i] = before is not None and number[before] and next_is_number
            else:
                number[i] = next_is_number
            changed = changed or number[i]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if not number[i]:
            out.append(tokens[i])
            i += 1
            continue
        end = i  # extend the run over joiners that lead to another number
        j = i + 1
        while j < len(tokens):
            if number[j]:
                end = j
            elif kinds[j] != "joiner":
                break
            j += 1
        out.append(WITHHELD)
        i = end + 1
    return "".join(out)


def _kind(token: str) -> str:
    if token.isdigit():
        return "number"
    lower = token.lower()
    if lower in _NUMBER_WORDS:
        return "number"
    if lower in _BETWEEN_WORDS:
        return "between"
    if lower in _BEFORE_WORDS:
        return "before"
    if _JOINER.match(token):
        return "joiner"
    return "word"
