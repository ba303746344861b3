"""What the server holds for its whole life: settings, profile, database, Twilio client."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from bot.admission import PendingStreams
from bot.alerts import EmergencyAlerts
from bot.config import Settings
from bot.drain import Drain
from bot.outbox import Outbox
from bot.profile import BusinessProfile, load_profile
from bot.scheduling.backends import open_calendar
from bot.scheduling.calendar import Calendar
from bot.storage import Store
from bot.twilio_rest import TwilioRest


async def sweep(store: Store, settings: Settings) -> int:
    """Close call records that no process is running any more."""
    return await store.sweep_stale_calls(
        silent_secs=settings.stale_call_secs,
        never_connected_secs=settings.stream_token_ttl_secs + settings.stale_call_secs,
    )


@dataclass
class AppState:
    """Shared resources, created in the FastAPI lifespan."""

    settings: Settings
    profile: BusinessProfile
    profile_name: str
    store: Store
    twilio: TwilioRest | None
    stream_secret: str
    outbox: Outbox
    alerts: EmergencyAlerts
    calendar: Calendar  # Google Calendar when configured, else the built-in SQLite calendar
    drain: Drain  # live calls, and whether the server is shutting down
    pending_streams: PendingStreams  # stream sockets still waiting for Twilio's `start`
    active_calls: set[str] = field(default_factory=set)

    @classmethod
    async def start(cls, settings: Settings) -> AppState:
        """Load the profile (raises ProfileError), open the database, connect Twilio REST."""
        profile = load_profile(settings.business_profile)
        store = await Store.open(settings.database_path)
        twilio = TwilioRest(settings) if settings.providers["twilio"] else None
        secret = await store.secret("stream_token", lambda: secrets.token_urlsafe(32))
        swept = await sweep(store, settings)
        if swept:
            logger.warning("closed {} call records left open by an earlier run", swept)
        outbox = Outbox(store, twilio)
        alerts = EmergencyAlerts(
            store, outbox, twilio, profile, ack_secs=settings.emergency_ack_secs
        )
        await alerts.setup()
        calendar, _ = await open_calendar(
            settings, profile, Path(settings.business_profile).stem, store
        )
        return cls(
            settings=settings,
            profile=profile,
            profile_name=Path(settings.business_profile).stem,
            store=store,
            twilio=twilio,
            stream_secret=secret,
            outbox=outbox,
            alerts=alerts,
            calendar=calendar,
            drain=Drain(drain_secs=settings.drain_secs),
            pending_streams=PendingStreams(limit=settings.max_pending_streams),
        )

    async def stop(self) -> None:
        """Release the database and HTTP sessions."""
        if self.twilio is not None:
            await self.twilio.close()
        await self.store.close()

    def log_providers(self) -> None:
        """Say, at start-up, which providers are configured and which are not."""
        for name, ok in self.settings.providers.items():
            if ok:
                logger.info("provider {}: configured", name)
            else:
                logger.warning("provider {}: NOT configured", name)
        if not self.settings.can_take_calls:
            logger.warning(
                "calls cannot be answered by the receptionist until these are set: {}; "
                "callers will hear an apology and can leave a voicemail",
                ", ".join(self.settings.missing_providers),
            )
