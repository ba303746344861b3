"""Whether a signed Twilio request belongs to this deployment.

A valid signature proves the request came from Twilio for some account holding our auth token; it
does not prove the call or text was for us (a sub-account, or another number on the same account
pointed at this server by mistake). Invariant: a request is ours only if its AccountSid equals
`TWILIO_ACCOUNT_SID` (unset matches nothing) and, where Twilio sends a `To` (voice, SMS), that
number is one of the deployment's numbers: `TWILIO_PHONE_NUMBER` and the profile's `phone`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from bot.profile import to_e164


def _e164(number: str | None) -> str | None:
    if not number or not number.strip():
        return None
    try:
        return to_e164(number.strip())
    except ValueError:
        return None


def deployment_numbers(numbers: Iterable[str | None]) -> frozenset[str]:
    """The given numbers in E.164; blanks and non-numbers are left out."""
    return frozenset(n for n in map(_e164, numbers) if n)


def account_matches(expected: str | None, account_sid: str | None) -> bool:
    """True only if both are set and equal."""
    if not expected or not account_sid:
        return False
    return hmac.compare_digest(expected.strip().encode(), account_sid.strip().encode())


def foreign_reason(
    form: Mapping[str, object],
    *,
    account_sid: str | None,
    numbers: frozenset[str],
    check_to: bool,
) -> str | None:
    """Why a signed webhook is not for this deployment ("account_sid" or "to"), else None."""
    if not account_matches(account_sid, str(form.get("AccountSid") or "")):
        return "account_sid"
    if check_to and _e164(str(form.get("To") or "")) not in numbers:
        return "to"
    return None
