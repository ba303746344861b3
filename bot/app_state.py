"""What the server holds for its whole life: settings, its business, database, Twilio client."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from bot.admission import PendingStreams
from bot.alerts import EmergencyAlerts
from bot.business import Business
from bot.call_session import CallEvents, CallSession
from bot.config import Settings
from bot.drain import Drain
from bot.outbox import Outbox
from bot.profile import BusinessProfile, load_profile
from bot.storage import Store
from bot.twilio_callbacks import TwilioCallbacks
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
    business: Business  # the business this server answers for
    store: Store
    twilio: TwilioRest | None
    stream_secret: str
    outbox: Outbox
    alerts: EmergencyAlerts
    callbacks: TwilioCallbacks  # voicemail recordings and status callbacks
    drain: Drain  # live calls, and whether the server is shutting down
    pending_streams: PendingStreams  # stream sockets still waiting for Twilio's `start`
    # Other profiles tried on the test page, built on first use: built-in calendar, no alerts.
    _others: dict[str, Business] = field(default_factory=dict)

    @property
    def profile(self) -> BusinessProfile:
        """The server's business profile."""
        return self.business.profile

    @property
    def profile_name(self) -> str:
        """The server's profile file stem."""
        return self.business.name

    async def business_named(self, name: str, profile: BusinessProfile) -> Business:
        """The server's own business, or another profile as the test page uses it."""
        if name == self.business.name:
            return self.business
        if name not in self._others:
            self._others[name] = await Business.builtin(name, profile, self.store)
        return self._others[name]

    def new_session(
        self,
        call_id: str,
        *,
        transport: str,
        caller: str | None,
        called: str | None,
        call_sid: str | None = None,
        business: Business | None = None,
        events: CallEvents | None = None,
    ) -> CallSession:
        """The session of one call: the only place a `CallSession` is put together."""
        session = CallSession(
            call_id=call_id,
            transport=transport,
            caller=caller,
            called=called,
            business=business or self.business,
            settings=self.settings,
            store=self.store,
            twilio=self.twilio,
            outbox=self.outbox,
            call_sid=call_sid,
        )
        if events is not None:
            session.events = events
        return session

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
        callbacks = TwilioCallbacks(
            store, outbox, business=profile.name, owners=profile.owner.phones
        )
        await callbacks.setup()
        name = Path(settings.business_profile).stem
        business = await Business.open(name, profile, settings, store, alerts)
        return cls(
            settings=settings,
            business=business,
            store=store,
            twilio=twilio,
            stream_secret=secret,
            outbox=outbox,
            alerts=alerts,
            callbacks=callbacks,
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
