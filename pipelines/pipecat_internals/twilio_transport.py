"""Pipecat's FastAPI WebSocket transport, sending the bot's audio a little ahead of playout.

Pipecat paces audio to the socket at exactly real time, so Twilio's buffer holds about one 40 ms
chunk: any stall of the event loop longer than that (another call starting, a burst of work) is a
drop-out the caller hears. Twilio plays what it is sent in order and empties its buffer on
`clear`, which Pipecat sends on every interruption, so sending ahead costs nothing at barge-in.
Here the first `LEAD_SECS` of each utterance go at once and the rest keeps that far ahead.

What it shifts: Pipecat marks words as spoken when their audio is sent, so after a barge-in the
context may keep up to `LEAD_SECS` of speech the caller did not hear (under one word).
"""

from __future__ import annotations

import asyncio
import time

from fastapi import WebSocket
from pipecat.frames.frames import OutputAudioRawFrame
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

LEAD_SECS = 0.2


class LeadingOutputTransport(FastAPIWebsocketOutputTransport):
    """Keeps `LEAD_SECS` of audio queued at the far end instead of one chunk."""

    _frame_secs = 0.0

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Note the chunk's playing time (for pacing), then send it."""
        self._frame_secs = len(frame.audio) / (2 * frame.num_channels * self.sample_rate)
        return await super().write_audio_frame(frame)

    async def _write_audio_sleep(self) -> None:
        # `_next_send_time` holds when the audio sent so far finishes playing; Pipecat resets it
        # to 0 on an interruption, when Twilio's buffer is cleared.
        now = time.monotonic()
        # Pipecat annotates it int (it starts at 0); it holds monotonic seconds.
        self._next_send_time = max(now, self._next_send_time) + self._frame_secs  # type: ignore[assignment]
        wait = self._next_send_time - LEAD_SECS - now
        if wait > 0:
            await asyncio.sleep(wait)


class TwilioWebsocketTransport(FastAPIWebsocketTransport):
    """`FastAPIWebsocketTransport` with `LeadingOutputTransport` as its output."""

    def __init__(self, websocket: WebSocket, params: FastAPIWebsocketParams) -> None:
        super().__init__(websocket, params)
        self._output = LeadingOutputTransport(
            self, self._client, self._params, name=self._output_name
        )
