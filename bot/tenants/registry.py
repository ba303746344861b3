"""Which tenant a number belongs to, failing closed.

Invariants:
- a number resolves to at most one tenant (the constructor refuses a second claim), and only on
  a channel that tenant lists it for; an unknown, malformed or missing number resolves to None,
  never to a default tenant;
- a disabled tenant never resolves, but its numbers stay in `numbers()`, so a call to it is
  recognised as this deployment's and gets the generic apology rather than a refusal;
- with `TENANTS_DIR` unset the registry holds exactly one tenant built from `BUSINESS_PROFILE`
  and today's settings, so a deployment without tenant files behaves as it did before tenants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from bot.config import Settings
from bot.profile import load_profile, to_e164
from bot.tenants.files import TenantError, scan
from bot.tenants.model import (
    CHANNELS,
    BuiltinCalendar,
    CalendarSettings,
    Channel,
    GoogleCalendar,
    Numbers,
    Tenant,
)
from bot.tenants.pins import hash_pin

WHATSAPP_PREFIX = "whatsapp:"


def normalise_number(raw: str | None, channel: Channel = "voice") -> str | None:
    """`raw` in E.164, or None if it is blank or not a phone number.

    Twilio writes WhatsApp addresses as `whatsapp:+14155238886`; the prefix is accepted on the
    whatsapp channel only.
    """
    if raw is None:
        return None
    text = raw.strip()
    if channel == "whatsapp" and text.lower().startswith(WHATSAPP_PREFIX):
        text = text[len(WHATSAPP_PREFIX) :].strip()
    if not text.startswith("+"):
        return None
    try:
        return to_e164(text)
    except ValueError:
        return None


def _slug(stem: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")[:40] or "business"


def single_tenant(settings: Settings) -> Tenant:
    """The one tenant of a deployment without tenant files (raises ProfileError on a bad profile).

    Numbers: `TWILIO_PHONE_NUMBER` and the profile's `phone`, for calls and texts (numbers that
    are not phone numbers are left out, as `bot.webhook_origin` does); `OWNER_PIN` hashed here;
    Google Calendar if `GOOGLE_CALENDAR_ID` and `GOOGLE_SERVICE_ACCOUNT_FILE` are set.
    """
    profile = load_profile(settings.business_profile)
    found = (normalise_number(n) for n in (settings.twilio_phone_number, profile.phone))
    numbers = tuple(dict.fromkeys(n for n in found if n))
    calendar: CalendarSettings = BuiltinCalendar()
    if settings.google_calendar_id and settings.google_service_account_file is not None:
        calendar = GoogleCalendar(
            calendar_id=settings.google_calendar_id,
            credentials_file=settings.google_service_account_file,
        )
    pin = settings.owner_pin.get_secret_value() if settings.owner_pin else None
    return Tenant(
        id=_slug(Path(settings.business_profile).stem),
        profile=profile,
        numbers=Numbers(voice=numbers, sms=numbers),
        calendar=calendar,
        owner_pin_hash=hash_pin(pin) if pin else None,
    )


class TenantRegistry:
    """Every tenant of this deployment, and the number -> tenant lookup the webhooks use."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self._tenants: dict[str, Tenant] = {}
        self._by_number: dict[str, Tenant] = {}
        for tenant in sorted(tenants, key=lambda t: t.id):
            if tenant.id in self._tenants:
                raise TenantError(f"tenant '{tenant.id}' is given twice")
            for number in tenant.numbers.all():
                other = self._by_number.setdefault(number, tenant)
                if other is not tenant:
                    raise TenantError(
                        f"tenant '{tenant.id}': {number} is already claimed by tenant '{other.id}'"
                    )
            self._tenants[tenant.id] = tenant

    @classmethod
    def from_folder(cls, folder: Path) -> TenantRegistry:
        """Every tenant file in `folder`; raises TenantError with the first problem."""
        found = scan(folder)
        found.raise_first()
        return cls(found.tenants)

    @classmethod
    def from_settings(cls, settings: Settings) -> TenantRegistry:
        """`TENANTS_DIR`'s tenants, or the one tenant of `BUSINESS_PROFILE` when it is unset."""
        if settings.tenants_dir is not None:
            return cls.from_folder(settings.tenants_dir)
        return cls([single_tenant(settings)])

    def for_number(self, raw: str | None, channel: Channel = "voice") -> Tenant | None:
        """The enabled tenant answering `raw` on `channel`, or None (unknown, malformed, disabled)."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; use {', '.join(CHANNELS)}")
        number = normalise_number(raw, channel)
        tenant = self._by_number.get(number) if number else None
        if tenant is None or not tenant.enabled or number not in tenant.numbers.on(channel):
            return None
        return tenant

    def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id, enabled or not."""
        return self._tenants.get(tenant_id)

    def all(self) -> tuple[Tenant, ...]:
        """Every tenant, by id."""
        return tuple(self._tenants.values())

    def enabled(self) -> tuple[Tenant, ...]:
        """The tenants that answer, by id."""
        return tuple(t for t in self._tenants.values() if t.enabled)

    def numbers(self, channel: Channel | None = None) -> frozenset[str]:
        """Every tenant's numbers (disabled ones too), on one channel or on any."""
        if channel is None:
            return frozenset(self._by_number)
        return frozenset(n for t in self._tenants.values() for n in t.numbers.on(channel))
