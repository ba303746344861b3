"""A tenant: one business served by this deployment, as plain frozen values.

Invariants a `Tenant` keeps (the loaders in `bot.tenants.files` and `bot.tenants.registry` build
only valid ones):
- `id` is a slug, [a-z0-9_-]{1,40} (the tenant file's stem);
- every number is E.164, and each channel lists a number at most once;
- the owner's numbers live in one place, `profile.owner` (a tenant file's override is applied to
  the profile), so what alerts and owner checks read cannot drift from the tenant;
- the owner PIN exists only as a salted hash (`bot.tenants.pins`); `None` means owner mode is off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from bot.profile import BusinessProfile
from bot.tenants.pins import verify_pin

Channel = Literal["voice", "sms", "whatsapp"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
TENANT_ID = re.compile(r"[a-z0-9_-]{1,40}")


@dataclass(frozen=True)
class Numbers:
    """The tenant's Twilio numbers by channel; one number may serve several channels."""

    voice: tuple[str, ...] = ()
    sms: tuple[str, ...] = ()
    whatsapp: tuple[str, ...] = ()

    def on(self, channel: Channel) -> tuple[str, ...]:
        """The numbers answering `channel`."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; use {', '.join(CHANNELS)}")
        numbers: tuple[str, ...] = getattr(self, channel)
        return numbers

    def all(self) -> frozenset[str]:
        """Every number, whatever its channels."""
        return frozenset(self.voice + self.sms + self.whatsapp)


@dataclass(frozen=True)
class BuiltinCalendar:
    """Bookings kept in the deployment's own database."""

    kind: Literal["builtin"] = "builtin"


@dataclass(frozen=True)
class GoogleCalendar:
    """Bookings in the tenant's own Google calendar, through its own service account."""

    calendar_id: str
    credentials_file: Path
    kind: Literal["google"] = "google"


CalendarSettings = BuiltinCalendar | GoogleCalendar


@dataclass(frozen=True)
class Retention:
    """Days each kind of record is kept before it is purged."""

    transcripts_days: int = 90
    messages_days: int = 365
    audit_days: int = 365


@dataclass(frozen=True)
class Tenant:
    """One business on this deployment."""

    id: str
    profile: BusinessProfile
    numbers: Numbers
    calendar: CalendarSettings = field(default_factory=BuiltinCalendar)
    # `scrypt$<salt>$<hash>` or None (owner mode off); kept out of reprs and logs all the same.
    owner_pin_hash: str | None = field(default=None, repr=False)
    # The first is the language the greeting is spoken in.
    languages: tuple[str, ...] = ("en",)
    retention: Retention = field(default_factory=Retention)
    enabled: bool = True

    @property
    def owner_numbers(self) -> tuple[str, ...]:
        """Numbers of the people who run the business (caller ID alone never proves it)."""
        return tuple(self.profile.owner.phones)

    @property
    def backup_numbers(self) -> tuple[str, ...]:
        """Who is phoned when the owner does not answer an emergency alert."""
        return tuple(self.profile.owner.backup_phones)

    @property
    def greeting_language(self) -> str:
        """The language the call opens in."""
        return self.languages[0]

    @property
    def owner_mode_enabled(self) -> bool:
        """Owner mode needs a PIN; without one every PIN is refused."""
        return self.owner_pin_hash is not None

    def verify_pin(self, pin: str) -> bool:
        """True if `pin` is this tenant's owner PIN (constant time; False when none is set)."""
        return self.owner_pin_hash is not None and verify_pin(pin, self.owner_pin_hash)
