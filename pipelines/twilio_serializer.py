"""Pipecat's Twilio serializer, hardened for the open internet.

Pipecat's own `deserialize` trusts its input: one frame with bad base64 or the wrong shape raises
inside the transport's receive loop and ends the caller's audio for good. Here every message is
checked first (`bot.media_stream.parse_message`); bad ones are dropped and counted.

Hang-up is ours too: Pipecat would hang up through REST on every end, including failures, which
would skip the voicemail fallback in our TwiML. `on_end` decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import CancelFrame, EndFrame, Frame
from pipecat.serializers.twilio import TwilioFrameSerializer

from bot.media_stream import DropCounter, Malformed, parse_message


class GuardedTwilioSerializer(TwilioFrameSerializer):
    """Drops malformed Media Streams messages and delegates hang-up to the call runner."""

    def __init__(
        self,
        *,
        stream_sid: str,
        call_sid: str,
        max_message_bytes: int,
        drops: DropCounter,
        on_end: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(
            stream_sid=stream_sid,
            call_sid=call_sid,
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        self._max_bytes = max_message_bytes
        self._drops = drops
        self._on_end = on_end
        self._ended = False

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """Check the message, then let Pipecat turn media and DTMF into frames."""
        try:
            message = parse_message(data, self._max_bytes)
        except Malformed as bad:
            self._drops.add(bad.reason)
            return None
        if message["event"] == "start":
            self._drops.add("duplicate_start")
            return None
        if message["event"] not in ("media", "dtmf"):
            return None
        try:
            return await super().deserialize(data)
        except Exception as exc:  # a decoder error must not end the caller's audio
            logger.warning("dropped undecodable media frame: {}", type(exc).__name__)
            self._drops.add("undecodable")
            return None

    async def serialize(self, frame: Frame) -> str | bytes | None:
        """Audio, `clear` and messages as Pipecat does; ending runs `on_end` once."""
        if isinstance(frame, EndFrame | CancelFrame):
            if not self._ended:
                self._ended = True
                await self._on_end()
            return None
        return await super().serialize(frame)
