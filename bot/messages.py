"""Messages for the business: stored first (never lost), then texted to the owners."""

from __future__ import annotations

from bot.call_session import CallSession

SMS_LIMIT = 600


async def leave_message(
    session: CallSession,
    *,
    body: str,
    source: str,
    sms: str,
    caller_name: str | None = None,
    callback: str | None = None,
    urgency: str = "normal",
) -> int:
    """Store the message, then text `sms` (cut to a sane length) to every owner number."""
    message_id = await session.store.add_message(
        call_id=session.call_id,
        body=body,
        source=source,
        caller_name=caller_name,
        callback=callback,
        urgency=urgency,
    )
    if session.outbox is not None:
        await session.outbox.text_owners(
            session.profile.owner.phones,
            key=f"message:{message_id}",
            kind="message",
            body=sms[:SMS_LIMIT],
            call_id=session.call_id,
        )
    return message_id
