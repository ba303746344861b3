"""Is this caller the person on the booking? Matching rules for names, streets and postcodes.

Proof required before a booking is read back, moved or cancelled:
- caller ID equal to the booking's phone number AND the name on the booking AND either its
  booking code (texted with the confirmation) or its street or postcode; or
- without a caller-ID match: the name AND the appointment's date AND its street or postcode.
Caller ID plus a name is never enough (both can be known to someone else, and caller ID can be
spoofed), and a failed check says the same thing whether or not a booking exists, so nobody can
probe for other customers.

Matching is deliberately strict but forgiving of transcription noise in case and punctuation:
- names: the same words, or the same first and last word ("John Smith" matches "John A. Smith");
- streets: the same house number and the same first street word ("12 Oak St" = "12 Oak Street");
- postcodes: US ZIP (first five digits) or UK postcode, ignoring spaces and case;
- booking codes: the six digits, written or spoken ('417 209', 'four one seven two oh nine').
"""

from __future__ import annotations

import hmac
import re
import unicodedata

_UK_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b", re.IGNORECASE)
_US_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
_STREET = re.compile(r"^\s*(\d+[a-z]?)\s+([a-z]+)", re.IGNORECASE)


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.findall(r"[a-z]+", plain.lower())


def name_matches(given: str, on_booking: str) -> bool:
    """Same name, ignoring case, punctuation, accents and middle names."""
    a, b = _words(given), _words(on_booking)
    if not a or not b:
        return False
    if a == b:
        return True
    return len(a) >= 2 and len(b) >= 2 and (a[0], a[-1]) == (b[0], b[-1])


def postcode_of(text: str) -> str | None:
    """The UK postcode or US ZIP in an address, normalised ('SE1 9PP' -> 'SE19PP')."""
    uk: list[tuple[str, str]] = _UK_POSTCODE.findall(text)
    if uk:
        outward, inward = uk[-1]
        return (outward + inward).upper()
    zips: list[str] = _US_ZIP.findall(text)
    return zips[-1] if zips else None


def street_of(text: str) -> tuple[str, str] | None:
    """(house number, first street word) from '12 Oak Street, ...', or None."""
    match = _STREET.match(text.split(",")[0])
    if not match:
        return None
    return match.group(1).lower(), match.group(2).lower()


def address_matches(given: str, address: str) -> bool:
    """The caller's street or postcode matches the booking's address."""
    given_postcode = postcode_of(given)
    if given_postcode is not None and given_postcode == postcode_of(address):
        return True
    given_street = street_of(given)
    return given_street is not None and given_street == street_of(address)


_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip


def code_digits(said: str) -> str:
    """The digits of a booking code as written or spoken; anything else in it is dropped."""
    out = []
    for token in re.findall(r"[a-z]+|\d", said.lower()):
        out.append(token if token.isdigit() else _DIGIT_WORDS.get(token, ""))
    return "".join(out)


def code_matches(given: str, code: str) -> bool:
    """The caller's booking code is this booking's (constant-time; exactly its digits)."""
    return hmac.compare_digest(code_digits(given).encode(), code.encode())
