"""A phone call: Twilio Media Streams over a FastAPI WebSocket, at 8 kHz in and out."""

from __future__ import annotations

from fastapi import WebSocket
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams

from bot.call_session import CallSession
from bot.media_stream import DropCounter, StreamStart
from bot.metrics import MALFORMED_FRAMES
from bot.twilio_rest import TwilioUnavailable
from pipelines.pipecat_internals.twilio_transport import TwilioWebsocketTransport
from pipelines.receptionist import CallRunner
from pipelines.twilio_serializer import GuardedTwilioSerializer

# Twilio streams 8 kHz μ-law. Running the pipeline at 8 kHz avoids resampling, and each 20 ms
# packet becomes one frame at once instead of 100 ms resampler bursts.
TWILIO_RATE = 8000


async def run_twilio_call(
    websocket: WebSocket, start: StreamStart, session: CallSession, drops: DropCounter
) -> None:
    """Run the receptionist on an accepted, authenticated Media Streams socket."""

    async def hang_up_if_requested() -> None:
        # Only a deliberate goodbye hangs up, and a transfer redirects; on failure the socket just
        # closes and Twilio plays the voicemail fallback that follows </Connect> in our TwiML.
        if session.twilio is None:
            return
        try:
            if session.redirect_twiml is not None:
                await session.twilio.redirect(start.call_sid, session.redirect_twiml)
            elif session.hang_up_on_end:
                await session.twilio.hang_up(start.call_sid)
        except TwilioUnavailable:
            if session.redirect_twiml is not None:
                session.end_status, session.end_reason = "FAILED", "transfer_failed"

    serializer = GuardedTwilioSerializer(
        stream_sid=start.stream_sid,
        call_sid=start.call_sid,
        max_message_bytes=session.settings.max_ws_message_bytes,
        drops=drops,
        on_end=hang_up_if_requested,
    )
    transport = TwilioWebsocketTransport(
        websocket,
        FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
            allowed_origins=[],  # Twilio sends no Origin; the stream token authenticates.
        ),
    )
    runner = CallRunner(transport, session, audio_in_rate=TWILIO_RATE, audio_out_rate=TWILIO_RATE)
    try:
        await runner.run()
    finally:
        MALFORMED_FRAMES.inc(drops.total)
        await session.store.add_malformed_frames(session.call_id, drops.total)
