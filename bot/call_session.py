"""Per-call state shared by the pipeline runner and the tools. No Pipecat imports here."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.alerts import EmergencyAlerts
from bot.business import Business
from bot.config import Settings
from bot.outbox import Outbox
from bot.profile import BusinessProfile
from bot.scheduling.calendar import Calendar
from bot.scheduling.state import SchedulingState
from bot.storage import Store
from bot.twilio_rest import TwilioRest

MAX_PIN_ATTEMPTS = 3

CallEvents = Callable[[str, dict[str, Any]], Awaitable[None]]


async def _no_events(kind: str, data: dict[str, Any]) -> None:
    return None


class CallControl(Protocol):
    """What a tool may ask of the live call; the pipeline runner implements it."""

    async def end_call(self, reason: str, farewell: str, *, status: str = "COMPLETED") -> None:
        """Say `farewell`, then hang up; the call record gets `status` and `reason`."""
        ...

    async def say(self, text: str) -> None:
        """Speak a fixed line now, outside the LLM."""
        ...

    async def declare_emergency(self, reason: str, *, life_threatening: bool) -> bool:
        """Flag the call, alert the owner, and switch to the emergency script (once per call)."""
        ...

    async def dismiss_emergency(self, reason: str) -> bool:
        """The possible emergency being confirmed is not one; False if none was pending."""
        ...

    async def transfer(self, number: str, line: str) -> None:
        """Say `line`, then hand the live call to `number`."""
        ...

    async def verify_owner_pin(self, pin: str, *, respond: bool = False) -> bool:
        """Check a keypad PIN (ended with #); on success the owner tools are given to the LLM.

        `respond` asks the LLM to answer at once (a keypad PIN has no tool result to answer).
        """
        ...


@dataclass
class CallSession:
    """Everything one call needs, passed explicitly to the pipeline and the tools."""

    call_id: str
    transport: str  # "twilio" or "webrtc"
    caller: str | None  # caller ID as E.164; spoofable, never proof of identity
    called: str | None
    business: Business  # profile, calendar, ledger, FAQ index, alerting: shared by its calls
    settings: Settings
    store: Store
    twilio: TwilioRest | None  # None when Twilio REST is not configured
    outbox: Outbox | None = None  # SMS to the caller or the owner, outbox-first
    call_sid: str | None = None
    control: CallControl | None = None
    # Live view of the call (transcript, tool calls, latency) for the WebRTC test page.
    events: CallEvents = _no_events
    started_monotonic: float = field(default_factory=time.monotonic)

    # How the call ended. The first decision wins, so a hang-up racing a goodbye keeps the goodbye.
    end_reason: str | None = None
    end_status: str | None = None
    # Set only when the bot ends the call on purpose; on failures the socket is closed without
    # a REST hang-up so Twilio plays the voicemail fallback after </Connect>.
    hang_up_on_end: bool = False
    # When set, the call is redirected to this TwiML instead of hung up (live transfer).
    redirect_twiml: str | None = None
    caller_turns: int = 0
    bot_turns: int = 0
    # Set by the emergency detector or the flag_emergency tool; bookings made after carry it.
    emergency: bool = False
    # True only after caller ID matched an owner number AND the owner PIN was given.
    is_owner: bool = False
    # Slots offered, bookings made and bookings proved in this call (see bot/scheduling/state.py).
    scheduling: SchedulingState = field(default_factory=SchedulingState)
    # PINs refused so far (wrong, or during a lockout); at MAX_PIN_ATTEMPTS the call carries on
    # as an ordinary caller. Limits across calls: `bot.owner_pin_guard`.
    pin_attempts: int = 0

    @property
    def profile(self) -> BusinessProfile:
        """The business's profile: hours, services, FAQ, emergency rules, owner numbers."""
        return self.business.profile

    @property
    def profile_name(self) -> str:
        """The profile's file stem, stored on the call record."""
        return self.business.name

    @property
    def calendar(self) -> Calendar:
        """Where this business's bookings go (Google or built-in)."""
        return self.business.calendar

    @property
    def alerts(self) -> EmergencyAlerts | None:
        """Who is alerted of an emergency; None: flagged on the call, nobody texted."""
        return self.business.alerts

    async def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Report something that happened on the call to whoever watches it live."""
        try:
            await self.events(kind, data)
        except Exception:  # a watcher going away must not disturb the call
            pass

    @property
    def may_try_owner_pin(self) -> bool:
        """Owner mode can still be unlocked on this call."""
        return (
            not self.is_owner
            and self.pin_attempts < MAX_PIN_ATTEMPTS
            and self.business.owner_mode_enabled
            and self.profile.is_owner_number(self.caller)
        )

    @property
    def withholds_spoken_digits(self) -> bool:
        """Digits said aloud are kept from the LLM and the record: an owner number, PIN unproved.

        Stays on after the call runs out of PIN attempts, since that caller may still say it.
        """
        return (
            not self.is_owner
            and self.business.owner_mode_enabled
            and self.profile.is_owner_number(self.caller)
        )

    def decide_end(self, status: str, reason: str, *, hang_up: bool = False) -> bool:
        """Record how the call is ending; returns False if an earlier decision stands."""
        if self.end_reason is not None:
            return False
        self.end_status, self.end_reason, self.hang_up_on_end = status, reason, hang_up
        return True
