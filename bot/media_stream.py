"""Twilio Media Streams messages: checking them before anything trusts them.

Twilio sends JSON text frames: `connected`, `start`, then `media` (20 ms of 8 kHz μ-law, base64),
`dtmf`, `mark` and `stop`. A frame that is not one of those, in the expected shape, is dropped and
counted; it never ends the call.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

KNOWN_EVENTS = frozenset({"connected", "start", "media", "dtmf", "mark", "stop"})
DTMF_DIGITS = frozenset("0123456789*#")
# 160 bytes is 20 ms; allow generous batching but nothing absurd.
MAX_MEDIA_BYTES = 16_000


class Malformed(Exception):
    """A Media Streams message that must be dropped; `reason` names why (for counting)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_message(data: str | bytes, max_bytes: int) -> dict[str, Any]:
    """Parse and shape-check one message, or raise `Malformed`."""
    if isinstance(data, bytes):
        raise Malformed("binary_frame")
    if len(data) > max_bytes:
        raise Malformed("oversized")
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):
        raise Malformed("bad_json") from None
    if not isinstance(message, dict):
        raise Malformed("not_an_object")
    event = message.get("event")
    if not isinstance(event, str) or event not in KNOWN_EVENTS:
        raise Malformed("unknown_event")
    if event == "media":
        media = message.get("media")
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str) or not payload:
            raise Malformed("bad_media")
        try:
            audio = b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("bad_base64") from None
        if not audio or len(audio) > MAX_MEDIA_BYTES:
            raise Malformed("bad_media")
    elif event == "dtmf":
        dtmf = message.get("dtmf")
        digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
        if not isinstance(digit, str) or digit not in DTMF_DIGITS:
            raise Malformed("bad_dtmf")
    return message


@dataclass(frozen=True)
class StreamStart:
    """What Twilio's `start` message tells us about the call."""

    stream_sid: str
    call_sid: str
    account_sid: str
    parameters: dict[str, str]


def parse_start(message: dict[str, Any]) -> StreamStart:
    """Extract the stream and call identifiers from a `start` message, or raise `Malformed`."""
    start = message.get("start")
    if not isinstance(start, dict):
        raise Malformed("bad_start")
    stream_sid = message.get("streamSid") or start.get("streamSid")
    call_sid = start.get("callSid")
    params = start.get("customParameters") or {}
    if not isinstance(stream_sid, str) or not isinstance(call_sid, str) or not call_sid:
        raise Malformed("bad_start")
    if not isinstance(params, dict):
        raise Malformed("bad_start")
    return StreamStart(
        stream_sid=stream_sid,
        call_sid=call_sid,
        account_sid=str(start.get("accountSid") or ""),
        parameters={str(k): str(v) for k, v in params.items()},
    )


@dataclass
class DropCounter:
    """Counts dropped messages by reason."""

    by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str) -> None:
        """Count one message dropped for `reason`."""
        self.by_reason[reason] += 1

    @property
    def total(self) -> int:
        """Messages dropped for any reason."""
        return sum(self.by_reason.values())


async def read_stream_start(
    receive: Callable[[], Awaitable[str | bytes]],
    max_bytes: int,
    drops: DropCounter,
    *,
    max_messages: int = 50,
) -> StreamStart | None:
    """Read messages until Twilio's `start`; junk and media sent before it are dropped and counted.

    `receive` is an async callable returning the next text or binary message. Returns None if no
    usable `start` arrives within `max_messages` messages.
    """
    for _ in range(max_messages):
        data = await receive()
        try:
            message = parse_message(data, max_bytes)
        except Malformed as bad:
            drops.add(bad.reason)
            continue
        if message["event"] == "start":
            try:
                return parse_start(message)
            except Malformed as bad:
                drops.add(bad.reason)
                return None
        if message["event"] != "connected":
            drops.add("before_start")
    return None
