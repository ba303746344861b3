"""Twilio webhook security and TwiML, built with the twilio package.

Twilio signs every webhook with the account's auth token over the exact public URL it requested.
Behind a proxy the server sees a different URL, so the URL is rebuilt from `PUBLIC_BASE_URL`,
never from the Host or X-Forwarded-* headers a client controls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse


def signature_is_valid(
    auth_token: str | None,
    public_base_url: str,
    path: str,
    query: str,
    form: Mapping[str, Any],
    signature: str | None,
) -> bool:
    """Check `X-Twilio-Signature`; fails closed when the token or the header is missing."""
    if not auth_token or not signature:
        return False
    url = f"{public_base_url}{path}" + (f"?{query}" if query else "")
    valid: bool = RequestValidator(auth_token).validate(url, form, signature)
    return valid


def stream_token(secret: str, call_sid: str) -> str:
    """The single-use token that binds a media stream to the CallSid it was issued for.

    Deterministic per (secret, CallSid), so a retried webhook gets the same TwiML, and every
    worker process can check it without sharing memory.
    """
    digest = hmac.new(secret.encode(), f"stream:{call_sid}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_matches(secret: str, call_sid: str, token: str | None) -> bool:
    """Constant-time check of a stream token against the CallSid it claims."""
    if not token or not call_sid:
        return False
    return hmac.compare_digest(stream_token(secret, call_sid), token)


def connect_twiml(
    *,
    stream_url: str,
    parameters: Mapping[str, str],
    fallback_message: str,
    recording_action: str,
    status_callback: str | None = None,
) -> str:
    """TwiML that streams the call to us, with a voicemail fallback if the stream fails.

    `<Connect><Stream>` blocks until our server closes the socket. If the stream cannot start,
    or we close it without hanging up, Twilio plays the verbs after `</Connect>`: an apology and
    a recording, so the caller can always leave a message.
    """
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(
        url=stream_url,
        status_callback=status_callback,
        status_callback_method="POST" if status_callback else None,
    )
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    response.say(fallback_message)
    _record(response, recording_action)
    response.say("We did not receive a recording. Goodbye.")
    response.hangup()
    return str(response)


def voicemail_twiml(message: str, recording_action: str) -> str:
    """TwiML used when the receptionist cannot take the call at all: apology, then record."""
    response = VoiceResponse()
    response.say(message)
    _record(response, recording_action)
    response.hangup()
    return str(response)


def apology_twiml(message: str) -> str:
    """TwiML for a call nobody here can take: the apology, then hang up (nothing recorded)."""
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


def transfer_twiml(number: str, *, caller_id: str | None, voicemail_action: str) -> str:
    """Dial a person; if nobody answers, the caller can still leave a message."""
    response = VoiceResponse()
    response.dial(number, caller_id=caller_id or None, timeout=25, answer_on_bridge=True)
    response.say("Sorry, nobody could take your call. Please leave a message after the tone.")
    _record(response, voicemail_action)
    response.hangup()
    return str(response)


def _record(response: VoiceResponse, action: str) -> None:
    """Record a voicemail; its status callback goes to the same URL as the action.

    Both carry the RecordingSid, so whichever arrives first keeps the message and the other is a
    duplicate; the status callback (it has `RecordingStatus`) also reaches us when the action
    request was lost.
    """
    response.record(
        action=action,
        method="POST",
        max_length=120,
        play_beep=True,
        recording_status_callback=action,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
    )


def empty_twiml() -> str:
    """An empty `<Response/>`, acknowledging a webhook with nothing more to do."""
    return str(VoiceResponse())
