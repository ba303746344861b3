"""A speech provider died mid-call: the caller leaves a voicemail instead of hearing dead air.

Invariant: once a call is failed over it is decided FAILED with the outage as its reason (the first
decision wins), a phone caller is redirected to TwiML that Twilio speaks itself (an apology, then
`<Record>` to /twilio/recording), the owner is texted once per call, and only then is the
pipeline ended. If the redirect cannot be made, ending the pipeline closes the media socket
without a hang-up, so Twilio plays the same apology and recording that follow `</Connect>`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger

from bot.call_session import CallSession
from bot.twilio_rest import TwilioUnavailable
from bot.twilio_webhook import voicemail_twiml

APOLOGY = (
    "Sorry, we're having technical trouble and can't continue this call. Please leave your name, "
    "number and a short message after the tone, and we will call you back."
)
WHAT_FAILED = {"tts_unavailable": "speak", "stt_unavailable": "hear callers"}


async def fail_over(
    session: CallSession, reason: str, *, end_pipeline: Callable[[], Awaitable[None]]
) -> bool:
    """Send the caller to voicemail because `reason`; False if the call was already ending.

    A call already ending (a goodbye, a transfer) keeps its decision; if the TTS is what failed,
    its pipeline is ended now, since a goodbye that cannot be spoken only adds silence before the
    hang-up or the transfer. (Without STT a goodbye is still heard: that call ends as planned.)
    """
    if not session.decide_end("FAILED", reason):
        if reason == "tts_unavailable":
            await end_pipeline()
        return False
    logger.warning("call {}: {}, sending the caller to voicemail", session.call_id, reason)
    phone = session.transport == "twilio"
    redirected = False
    if phone and session.twilio is not None and session.call_sid:
        action = f"{session.settings.public_base_url}/twilio/recording"
        try:
            await session.twilio.redirect(session.call_sid, voicemail_twiml(APOLOGY, action))
            redirected = True
        except TwilioUnavailable:
            pass  # closing the socket below lets Twilio play the fallback after </Connect>
    try:
        await session.store.audit(
            "system",
            "provider.outage",
            session.call_id,
            {"reason": reason, "redirected": redirected},
        )
        if phone and session.outbox is not None:
            await session.outbox.text_owners(
                session.profile.owner.phones,
                key=f"outage:{session.call_id}",
                kind="outage",
                body=(
                    f"{session.profile.name}: the assistant could not "
                    f"{WHAT_FAILED.get(reason, 'continue')} on a call from "
                    f"{session.caller or 'an unknown number'}, so the caller was asked to leave "
                    f"a voicemail. Call {session.call_id[-8:]}."
                ),
                call_id=session.call_id,
            )
    except Exception as exc:  # the caller must still be let go
        logger.error("call {}: outage notice failed: {}", session.call_id, type(exc).__name__)
    await end_pipeline()
    return True
