"""Whether a signed Twilio request belongs to this deployment's Twilio account.

A valid signature proves the request came from Twilio for some account holding our auth token; it
does not prove it was for us (a sub-account pointed at this server by mistake). Invariant: a
request is ours only if its AccountSid equals `TWILIO_ACCOUNT_SID` (unset matches nothing). Which
business it is for is decided from `To` by the tenant registry (`bot.tenants.registry`).
"""

from __future__ import annotations

import hmac


def account_matches(expected: str | None, account_sid: str | None) -> bool:
    """True only if both are set and equal."""
    if not expected or not account_sid:
        return False
    return hmac.compare_digest(expected.strip().encode(), account_sid.strip().encode())
