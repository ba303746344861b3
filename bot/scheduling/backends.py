"""Choosing the calendar at start-up: Google when configured, else the built-in one."""

from __future__ import annotations

from bot.config import Settings
from bot.profile import BusinessProfile
from bot.scheduling.calendar import Calendar, SqliteCalendar
from bot.scheduling.google_api import GoogleApi
from bot.scheduling.google_calendar import GoogleCalendar
from bot.scheduling.ledger import Ledger
from bot.storage import Store


class CalendarConfigError(RuntimeError):
    """Google Calendar is configured but its key cannot be used."""


def builtin_key(profile_name: str) -> str:
    """Ledger key of the built-in calendar for one business profile."""
    return f"builtin:{profile_name}"


async def open_calendar(
    settings: Settings, profile: BusinessProfile, profile_name: str, store: Store
) -> tuple[Calendar, Ledger]:
    """Create the ledger's tables and return the business's calendar with its ledger."""
    ledger = Ledger(store)
    await ledger.setup()
    if settings.providers["google_calendar"]:
        key_file = settings.google_service_account_file
        assert settings.google_calendar_id and key_file is not None
        try:
            api = GoogleApi.from_service_account(
                key_file,
                calendar_id=settings.google_calendar_id,
                base_url=settings.google_calendar_base_url,
                timeout_secs=settings.google_calendar_timeout_secs,
                budget_secs=settings.google_calendar_budget_secs,
            )
        except (OSError, ValueError, KeyError) as exc:
            # At start-up, not mid-call: a broken key must stop the server with a clear reason.
            raise CalendarConfigError(
                f"GOOGLE_SERVICE_ACCOUNT_FILE {key_file}: not a readable service-account key "
                f"({type(exc).__name__})"
            ) from None
        return GoogleCalendar(api, ledger, profile), ledger
    return SqliteCalendar(ledger, profile, builtin_key(profile_name)), ledger
