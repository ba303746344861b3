"""Credentials and caps for the surfaces Twilio does not sign: the test page and /metrics.

Invariants: a token is compared in constant time and never logged or echoed; an empty configured
token never matches anything; a call the caps refuse has taken no slot and left no trace.
"""

from __future__ import annotations

import hmac
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from pydantic import SecretStr


class Credential(Enum):
    """What a request presented, measured against the token it needs."""

    VALID = "valid"
    MISSING = "missing"  # answer 401
    WRONG = "wrong"  # answer 403


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def configured(token: SecretStr | str | None) -> str | None:
    """A configured token's value, or None when it is unset or blank."""
    value = token.get_secret_value() if isinstance(token, SecretStr) else token
    return value.strip() if value and value.strip() else None


def check(expected: SecretStr | str | None, presented: str | None) -> Credential:
    """Compare a presented token with the expected one in constant time."""
    secret = configured(expected)
    if not presented:
        return Credential.MISSING
    if secret is None or not hmac.compare_digest(secret.encode(), presented.encode()):
        return Credential.WRONG
    return Credential.VALID


@dataclass
class CallCaps:
    """At most `max_concurrent` calls at once and `per_minute` started in any 60 s.

    `admit()` reserves a slot or says why not; the caller must `release()` each slot it got, once,
    when that call ends (or fails to start). Refused attempts are not counted against the minute.
    """

    max_concurrent: int
    per_minute: int
    clock: Callable[[], float] = time.monotonic
    running: int = 0
    _started: deque[float] = field(default_factory=deque)

    def admit(self) -> str | None:
        """Take a slot and return None, or return the reason the call is refused."""
        now = self.clock()
        while self._started and now - self._started[0] >= 60.0:
            self._started.popleft()
        if self.running >= self.max_concurrent:
            return (
                f"Too many test calls at once (the limit is {self.max_concurrent}). "
                "Hang up a call and try again."
            )
        if len(self._started) >= self.per_minute:
            wait = max(1, round(60.0 - (now - self._started[0])))
            return (
                f"Too many test calls this minute (the limit is {self.per_minute}). "
                f"Try again in {wait} s."
            )
        self.running += 1
        self._started.append(now)
        return None

    def release(self) -> None:
        """Give back a slot taken by `admit`."""
        self.running = max(0, self.running - 1)
