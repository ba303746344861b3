"""One business as the receptionist serves it: its profile and what is built once from it.

Invariants:
- everything here is built once (at start-up, or when the test page first uses another profile)
  and shared by every call to that business; nothing that belongs to one call lives here;
- the ledger's tables exist before a `Business` does, so no tool has to create them mid-call;
- a business texts, phones and keeps voicemails only for itself: its outbox sends from its own
  number, its alerts see only its own calls, its calendar key is its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts import EmergencyAlerts
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.outbox import Outbox
from bot.profile import BusinessProfile
from bot.scheduling.backends import builtin_key, open_calendar
from bot.scheduling.calendar import Calendar, SqliteCalendar
from bot.scheduling.ledger import Ledger
from bot.storage import Store
from bot.tenants.model import Tenant
from bot.twilio_callbacks import TwilioCallbacks
from bot.twilio_rest import TwilioRest


@dataclass(frozen=True)
class Business:
    """A business profile with its calendar, booking ledger, FAQ index and alerting."""

    name: str  # the profile's file stem, stored on every call record
    profile: BusinessProfile
    calendar: Calendar  # Google Calendar when configured, else the built-in one in SQLite
    ledger: Ledger
    knowledge: KnowledgeBase
    # None: emergencies are flagged on the call but nobody is texted (a profile that is not the
    # server's own, tried on the test page, must never alert the server's owner).
    alerts: EmergencyAlerts | None
    outbox: Outbox | None = None  # texts from the business's own number
    callbacks: TwilioCallbacks | None = None  # its voicemails, texted to its owners
    tenant: Tenant | None = None  # None: a profile tried on the test page, not a tenant

    @classmethod
    async def open(
        cls, tenant: Tenant, settings: Settings, store: Store, twilio: TwilioRest | None
    ) -> Business:
        """A tenant of this deployment, with its calendar (Google or built-in) and alerting."""
        profile = tenant.profile
        calendar, ledger = await open_calendar(settings, tenant, store)
        texts_from = next(iter(tenant.numbers.sms + tenant.numbers.voice), None)
        calls_from = next(iter(tenant.numbers.voice), None)
        outbox = Outbox(store, twilio, from_number=texts_from)
        alerts = EmergencyAlerts(
            store,
            outbox,
            twilio,
            profile,
            ack_secs=settings.emergency_ack_secs,
            business=tenant.id,
            from_number=calls_from,
        )
        await alerts.setup()
        callbacks = TwilioCallbacks(
            store, outbox, business=profile.name, owners=list(tenant.owner_numbers)
        )
        await callbacks.setup()
        knowledge = KnowledgeBase.from_profile(profile)
        return cls(
            tenant.id, profile, calendar, ledger, knowledge, alerts, outbox, callbacks, tenant
        )

    @property
    def owner_mode_enabled(self) -> bool:
        """Whether owner mode can be unlocked at all (the business has an owner PIN)."""
        return self.tenant is not None and self.tenant.owner_mode_enabled

    def owner_pin_matches(self, keyed: str) -> bool:
        """True if `keyed` is the owner PIN (constant time; False without one)."""
        return self.tenant is not None and self.tenant.verify_pin(keyed)

    @classmethod
    async def builtin(
        cls,
        name: str,
        profile: BusinessProfile,
        store: Store,
        alerts: EmergencyAlerts | None = None,
        *,
        tenant: Tenant | None = None,
    ) -> Business:
        """A business on the built-in calendar, whatever the settings say about Google."""
        ledger = Ledger(store)
        await ledger.setup()
        calendar = SqliteCalendar(ledger, profile, builtin_key(name))
        knowledge = KnowledgeBase.from_profile(profile)
        return cls(name, profile, calendar, ledger, knowledge, alerts, tenant=tenant)
