"""Which phone numbers the receptionist may text. Pure: no I/O.

A customer text goes only to a valid number of one of the business's texting countries (the
profile's `sms_countries`, by default its own country) whose type is mobile or fixed line.
Everything else is refused before anything is queued: premium-rate, shared-cost, toll-free,
personal, UAN, VoIP and pager ranges, satellite (+881, +882) and other non-geographic codes, and
numbers of other countries, including those that share a calling code (+1 876 is Jamaica, not the
US). A refusal never cancels a booking; the caller is told the text cannot go to that number.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
from phonenumbers import PhoneNumberType

TEXTABLE_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)


def sms_refusal(number: str, countries: Iterable[str]) -> str | None:
    """None if `number` (E.164) may get a text; else why not: `invalid`, `foreign`, `wrong_type`."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(parsed):
        return "invalid"
    if phonenumbers.region_code_for_number(parsed) not in set(countries):
        return "foreign"
    if phonenumbers.number_type(parsed) not in TEXTABLE_TYPES:
        return "wrong_type"
    return None
