"""Twilio REST calls the receptionist makes: hang up, redirect a live call, send SMS.

Uses the official twilio package. `TWILIO_API_BASE_URL` points it at a compatible or fake server;
the package has no base-URL argument, so the API domain's `base_url` is set after construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.config import Settings


class TwilioUnavailable(Exception):
    """Twilio is not configured, or the request failed; the caller of this module decides."""


@dataclass(frozen=True)
class SentMessage:
    """What Twilio answered for an SMS."""

    sid: str
    status: str


class TwilioRest:
    """Thin async wrapper around `twilio.rest.Client`. Create inside a running event loop."""

    def __init__(self, settings: Settings, *, timeout_secs: float = 5.0) -> None:
        if not settings.providers["twilio"]:
            raise TwilioUnavailable("Twilio account SID and auth token are not set")
        assert settings.twilio_auth_token is not None
        self._http = AsyncTwilioHttpClient(timeout=timeout_secs)
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=self._http,
        )
        self._client.api.base_url = settings.twilio_api_base_url.rstrip("/")
        self._from = settings.twilio_phone_number
        self._call_status_url = f"{settings.public_base_url}/twilio/call-status"

    async def close(self) -> None:
        """Release the HTTP session."""
        await self._http.close()

    async def hang_up(self, call_sid: str) -> bool:
        """End a live call. A call that already ended (404) counts as done."""
        try:
            await self._client.calls(call_sid).update_async(status="completed")
            return True
        except TwilioRestException as exc:
            if exc.status == 404:
                return True
            logger.warning("twilio hang-up failed: status={} code={}", exc.status, exc.code)
            raise TwilioUnavailable(f"hang-up failed with HTTP {exc.status}") from None
        except Exception as exc:  # network errors, timeouts
            logger.warning("twilio hang-up failed: {}", type(exc).__name__)
            raise TwilioUnavailable("hang-up request failed") from None

    async def redirect(self, call_sid: str, twiml: str) -> None:
        """Replace what a live call is doing with new TwiML (used for transfers)."""
        try:
            await self._client.calls(call_sid).update_async(twiml=twiml)
        except Exception as exc:
            logger.warning("twilio call update failed: {}", type(exc).__name__)
            raise TwilioUnavailable("call update failed") from None

    async def send_sms(self, to: str, body: str) -> SentMessage:
        """Send one SMS from the business number."""
        if not self._from:
            raise TwilioUnavailable("TWILIO_PHONE_NUMBER is not set")
        try:
            msg = await self._client.messages.create_async(to=to, from_=self._from, body=body)
        except Exception as exc:
            logger.warning("twilio sms failed: {}", type(exc).__name__)
            raise TwilioUnavailable("SMS request failed") from None
        return SentMessage(sid=msg.sid or "", status=str(msg.status or ""))

    async def call(self, to: str, twiml: str) -> str:
        """Place an outbound call that plays `twiml` (used to escalate alerts)."""
        if not self._from:
            raise TwilioUnavailable("TWILIO_PHONE_NUMBER is not set")
        try:
            created = await self._client.calls.create_async(
                to=to,
                from_=self._from,
                twiml=twiml,
                status_callback=self._call_status_url,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
            )
        except Exception as exc:
            logger.warning("twilio outbound call failed: {}", type(exc).__name__)
            raise TwilioUnavailable("outbound call failed") from None
        return created.sid or ""
