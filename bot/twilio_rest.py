"""Twilio REST calls the receptionist makes: hang up, redirect a live call, send SMS.

Uses the official twilio package. `TWILIO_API_BASE_URL` points it at a compatible or fake server;
the package has no base-URL argument, so the API domain's `base_url` is set after construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loguru import logger
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.config import Settings


class TwilioUnavailable(Exception):
    """Twilio is not configured, or the request failed; the caller of this module decides."""


@contextmanager
def _requesting(what: str) -> Iterator[None]:
    """Turn any failure of the request into `TwilioUnavailable`, logged without its details."""
    try:
        yield
    except TwilioRestException as exc:
        logger.warning("twilio {} failed: status={} code={}", what, exc.status, exc.code)
        raise TwilioUnavailable(f"{what} failed with HTTP {exc.status}") from None
    except Exception as exc:  # network errors, timeouts
        logger.warning("twilio {} failed: {}", what, type(exc).__name__)
        raise TwilioUnavailable(f"{what} request failed") from None


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
        with _requesting("hang-up"):
            try:
                await self._client.calls(call_sid).update_async(status="completed")
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
        return True

    async def redirect(self, call_sid: str, twiml: str) -> None:
        """Replace what a live call is doing with new TwiML (used for transfers)."""
        with _requesting("call update"):
            await self._client.calls(call_sid).update_async(twiml=twiml)

    async def send_sms(self, to: str, body: str, *, from_: str | None = None) -> SentMessage:
        """Send one SMS from `from_` (a business's number), else TWILIO_PHONE_NUMBER."""
        sender = from_ or self._from
        if not sender:
            raise TwilioUnavailable("no number to send from: TWILIO_PHONE_NUMBER is not set")
        with _requesting("SMS"):
            msg = await self._client.messages.create_async(to=to, from_=sender, body=body)
        return SentMessage(sid=msg.sid or "", status=str(msg.status or ""))

    async def call(self, to: str, twiml: str, *, from_: str | None = None) -> str:
        """Place an outbound call that plays `twiml` (used to escalate alerts)."""
        caller_id = from_ or self._from
        if not caller_id:
            raise TwilioUnavailable("no number to call from: TWILIO_PHONE_NUMBER is not set")
        with _requesting("outbound call"):
            created = await self._client.calls.create_async(
                to=to,
                from_=caller_id,
                twiml=twiml,
                status_callback=self._call_status_url,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
            )
        return created.sid or ""
