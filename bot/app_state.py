"""What the server holds for its whole life: settings, its businesses, database, Twilio client.

Invariant: a call or text reaches a business only through the number it was made to
(`business_for_number`) or the call record the signed webhook created (`business_of_call`);
nothing a client sends can choose another business, and an unknown number has none.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from loguru import logger

from bot.admission import PendingStreams
from bot.business import Business
from bot.call_session import CallEvents, CallSession
from bot.config import Settings
from bot.drain import Drain
from bot.outbox import Outbox
from bot.profile import BusinessProfile
from bot.storage import CallRow, Store
from bot.tenants.files import TenantError
from bot.tenants.model import Channel
from bot.tenants.registry import TenantRegistry
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
    tenants: TenantRegistry
    businesses: dict[str, Business]  # every enabled tenant's business, by tenant id
    store: Store
    twilio: TwilioRest | None
    stream_secret: str
    outbox: Outbox  # retries failed texts of every business (each row keeps its sender)
    drain: Drain  # live calls, and whether the server is shutting down
    pending_streams: PendingStreams  # stream sockets still waiting for Twilio's `start`
    # Other profiles tried on the test page, built on first use: built-in calendar, no alerts.
    _others: dict[str, Business] = field(default_factory=dict)

    @property
    def business(self) -> Business:
        """The first business by tenant id: the test page's default."""
        return next(iter(self.businesses.values()))

    @property
    def profile(self) -> BusinessProfile:
        """The first business's profile."""
        return self.business.profile

    @property
    def profile_name(self) -> str:
        """The first business's tenant id."""
        return self.business.name

    def business_for_number(self, number: str | None, channel: Channel) -> Business | None:
        """The business answering `number` on `channel`; None for a number no tenant answers."""
        tenant = self.tenants.for_number(number, channel)
        return self.businesses.get(tenant.id) if tenant is not None else None

    def business_of_call(self, call: CallRow) -> Business | None:
        """The business a call record belongs to (set by the signed webhook that created it)."""
        return self.businesses.get(call.profile)

    async def business_named(self, name: str, profile: BusinessProfile) -> Business:
        """A tenant's business, or another profile as the test page uses it."""
        if name in self.businesses:
            return self.businesses[name]
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
            outbox=(business or self.business).outbox or self.outbox,
            call_sid=call_sid,
        )
        if events is not None:
            session.events = events
        return session

    @classmethod
    async def start(cls, settings: Settings) -> AppState:
        """Load the tenants (raises ProfileError), open the database, connect Twilio REST."""
        tenants = TenantRegistry.from_settings(settings)
        if not tenants.enabled():
            raise TenantError("no enabled tenant: this deployment would answer no number")
        store = await Store.open(settings.database_path)
        twilio = TwilioRest(settings) if settings.providers["twilio"] else None
        secret = await store.secret("stream_token", lambda: secrets.token_urlsafe(32))
        swept = await sweep(store, settings)
        if swept:
            logger.warning("closed {} call records left open by an earlier run", swept)
        businesses = {
            tenant.id: await Business.open(tenant, settings, store, twilio)
            for tenant in tenants.enabled()
        }
        return cls(
            settings=settings,
            tenants=tenants,
            businesses=businesses,
            store=store,
            twilio=twilio,
            stream_secret=secret,
            outbox=Outbox(store, twilio),
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
