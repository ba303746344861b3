"""One business as the receptionist serves it: its profile and what is built once from it.

Invariant: everything here is built once (at start-up, or when the test page first uses another
profile) and shared by every call to that business; nothing that belongs to one call lives here.
The ledger's tables exist before a `Business` does, so no tool has to create them mid-call.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts import EmergencyAlerts
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.profile import BusinessProfile
from bot.scheduling.backends import builtin_key, open_calendar
from bot.scheduling.calendar import Calendar, SqliteCalendar
from bot.scheduling.ledger import Ledger
from bot.storage import Store


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

    @classmethod
    async def open(
        cls,
        name: str,
        profile: BusinessProfile,
        settings: Settings,
        store: Store,
        alerts: EmergencyAlerts | None,
    ) -> Business:
        """The server's own business: Google Calendar when configured, else the built-in one."""
        calendar, ledger = await open_calendar(settings, profile, name, store)
        return cls(name, profile, calendar, ledger, KnowledgeBase.from_profile(profile), alerts)

    @classmethod
    async def builtin(
        cls,
        name: str,
        profile: BusinessProfile,
        store: Store,
        alerts: EmergencyAlerts | None = None,
    ) -> Business:
        """A business on the built-in calendar, whatever the settings say about Google."""
        ledger = Ledger(store)
        await ledger.setup()
        calendar = SqliteCalendar(ledger, profile, builtin_key(name))
        return cls(name, profile, calendar, ledger, KnowledgeBase.from_profile(profile), alerts)
