"""Choosing the calendar at start-up: Google when configured, else the built-in one."""

from __future__ import annotations

from bot.config import Settings
from bot.scheduling.calendar import Calendar, SqliteCalendar
from bot.scheduling.google_api import GoogleApi
from bot.scheduling.google_calendar import GoogleCalendar
from bot.scheduling.ledger import Ledger
from bot.storage import Store
from bot.tenants.model import GoogleCalendar as GoogleSettings
from bot.tenants.model import Tenant


class CalendarConfigError(RuntimeError):
    """Google Calendar is configured but its key cannot be used."""


def builtin_key(profile_name: str) -> str:
    """Ledger key of the built-in calendar for one business profile."""
    return f"builtin:{profile_name}"


async def open_calendar(
    settings: Settings, tenant: Tenant, store: Store
) -> tuple[Calendar, Ledger]:
    """Create the ledger's tables and return the tenant's calendar with its ledger.

    Google settings are the tenant's own (its calendar, its service account); the API address
    and time limits are the deployment's.
    """
    ledger = Ledger(store)
    await ledger.setup()
    profile = tenant.profile
    if isinstance(tenant.calendar, GoogleSettings):
        key_file = tenant.calendar.credentials_file
        try:
            api = GoogleApi.from_service_account(
                key_file,
                calendar_id=tenant.calendar.calendar_id,
                base_url=settings.google_calendar_base_url,
                timeout_secs=settings.google_calendar_timeout_secs,
                budget_secs=settings.google_calendar_budget_secs,
            )
        except (OSError, ValueError, KeyError) as exc:
            # At start-up, not mid-call: a broken key must stop the server with a clear reason.
            raise CalendarConfigError(
                f"tenant '{tenant.id}': Google credentials {key_file}: not a readable "
                "service-account key "
                f"({type(exc).__name__})"
            ) from None
        return GoogleCalendar(api, ledger, profile), ledger
    return SqliteCalendar(ledger, profile, builtin_key(tenant.id)), ledger
