"""A fuzzer for the Media Streams socket: garbage mid-call, and the call survives.

One real call over a real socket (the fake Twilio caller against the real server). Seeded random
garbage, each frame malformed by construction (truncated JSON, binary frames, oversized frames,
bad JSON, JSON that is not an object, unknown events, media with bad or huge payloads, bad keypad
digits, a second `start`), is sent in three bursts: before the caller speaks, interleaved with the
caller's speech, and while the bot is answering. Harmless frames Twilio could send (`mark`,
`connected`) are mixed in and must not be counted. The call must survive: the caller is still
heard, the bot's audio keeps arriving after each burst, the record stays ACTIVE and then closes
normally, and exactly the malformed frames are counted.

Set FUZZ_SEED to replay a failing run; the seed is in every assertion message.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import string
from collections.abc import Callable

import pytest

from bot.media_stream import KNOWN_EVENTS
from tests import audio
from tests.fakes.openai import ScriptedLLM, Text
from tests.test_call_path import answered_call, turns, wait_for_status

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("FUZZ_SEED", "20261202"))
SINK = audio.FIXTURES["leaking_sink"]
# Long enough that the third burst lands while the bot is still speaking (0.1 s per word).
LONG_REPLY = " ".join(["We can send a plumber out to look at that sink for you."] * 4)
MAX_WS_MESSAGE_BYTES = 64 * 1024  # Settings.max_ws_message_bytes default
WS_FRAME_LIMIT = 1024 * 1024  # uvicorn's ws_max_size in server.py: larger closes the socket


def valid_event(rng: random.Random, stream_sid: str) -> dict:
    """A well-formed Twilio message, as a starting point for truncation."""
    kind = rng.choice(["media", "mark", "dtmf", "stop"])
    if kind == "media":
        payload = base64.b64encode(rng.randbytes(160)).decode()
        return {"event": "media", "streamSid": stream_sid, "media": {"payload": payload}}
    if kind == "mark":
        return {"event": "mark", "streamSid": stream_sid, "mark": {"name": "m1"}}
    if kind == "dtmf":
        return {"event": "dtmf", "streamSid": stream_sid, "dtmf": {"digit": "5"}}
    return {"event": "stop", "streamSid": stream_sid, "stop": {}}


def random_text(rng: random.Random, n: int) -> str:
    alphabet = string.printable + "éü漢字🙂\u200b"
    return "".join(rng.choice(alphabet) for _ in range(n))


def malformed_frame(rng: random.Random, stream_sid: str) -> str | bytes:
    """One frame the server must drop and count."""
    kind = rng.randrange(10)
    if kind == 0:  # a proper prefix of a valid message is never valid JSON
        text = json.dumps(valid_event(rng, stream_sid))
        return text[: rng.randrange(1, len(text))]
    if kind == 1:
        return rng.randbytes(rng.randrange(0, 2048))
    if kind == 2:  # over the message limit, under the socket's frame limit
        size = rng.randrange(MAX_WS_MESSAGE_BYTES + 1, WS_FRAME_LIMIT - 1024)
        return json.dumps({"event": "media", "media": {"payload": "A" * size}})
    if kind == 3:  # not JSON: starts with a control character
        return "\x01" + random_text(rng, rng.randrange(0, 200))
    if kind == 4:
        return json.dumps(
            rng.choice([[1, 2], 7, "media", None, True, [{"event": "media"}], 1.5e300])
        )
    if kind == 5:
        event = rng.choice([random_text(rng, rng.randrange(0, 12)), 42, None, ["media"], {"x": 1}])
        if isinstance(event, str) and event in KNOWN_EVENTS:
            event = "x" + event
        return json.dumps({"event": event, "streamSid": stream_sid})
    if kind == 6:
        media = rng.choice(
            [
                None,
                5,
                "payload",
                {},
                {"payload": ""},
                {"payload": 42},
                {"payload": ["AAAA"]},
                {"payload": "*" + base64.b64encode(rng.randbytes(40)).decode()},
                {"payload": base64.b64encode(rng.randbytes(40)).decode() + " "},
                {"payload": "AAA"},  # bad padding
                {"payload": base64.b64encode(rng.randbytes(20_000)).decode()},  # too much audio
            ]
        )
        return json.dumps({"event": "media", "streamSid": stream_sid, "media": media})
    if kind == 7:
        digit = rng.choice(["", "A", "55", "x", None, 5, "١", "🙂"])
        return json.dumps({"event": "dtmf", "dtmf": {"digit": digit}})
    if kind == 8:
        return json.dumps({"event": "dtmf", "dtmf": rng.choice([None, "5", [], 3])})
    # A second `start`, valid in shape, for another call.
    return json.dumps(
        {
            "event": "start",
            "streamSid": "MZ" + "f" * 32,
            "start": {"callSid": "CA" + "e" * 32, "streamSid": "MZ" + "f" * 32},
        }
    )


def harmless_frame(rng: random.Random, stream_sid: str) -> str:
    """Frames Twilio may send that are ignored, not counted."""
    if rng.random() < 0.5:
        name = random_text(rng, 8)
        return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})
    return json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


async def burst(
    send: Callable, rng: random.Random, stream_sid: str, n: int, gap: float = 0.0
) -> int:
    """Send `n` malformed frames (with some harmless ones between); returns how many were bad."""
    for _ in range(n):
        await send(malformed_frame(rng, stream_sid))
        if rng.random() < 0.2:
            await send(harmless_frame(rng, stream_sid))
        if gap:
            await asyncio.sleep(gap)
    return n


async def test_garbage_mid_call_is_dropped_counted_and_the_call_goes_on(fakes, phone_server):
    rng = random.Random(SEED)
    why = f"FUZZ_SEED={SEED}"
    fakes.openai.responder = ScriptedLLM([], default=Text(LONG_REPLY))
    caller = await answered_call(fakes, phone_server, [SINK])
    send, sid = caller.send_raw, caller.stream_sid

    sent_bad = await burst(send, rng, sid, 60)
    after_first = len(caller.events("media"))

    # The caller speaks while garbage keeps arriving between their audio frames.
    speech = asyncio.create_task(caller.say(audio.load("leaking_sink")))
    sent_bad += await burst(send, rng, sid, 60, gap=0.02)
    spoken = await speech
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    assert len(caller.events("media")) > after_first, why

    # And while the bot is answering.
    sent_bad += await burst(send, rng, sid, 60)
    burst_end = caller.sent[-1]["t"]
    # The answer keeps playing: a further second of it arrives after the last burst.
    await caller.wait_for(
        lambda: len(caller.bot_audio(after_t=burst_end)) >= 8000,
        timeout=10,
        what="a second of bot audio after the last burst",
    )
    assert not caller.closed, f"the server closed the stream ({caller.close_code}); {why}"
    row = phone_server.rows("SELECT status FROM calls WHERE id = ?", (caller.call_sid,))[0]
    assert row["status"] == "ACTIVE", why

    await caller.hangup()
    row = await wait_for_status(phone_server, caller.call_sid, "COMPLETED")
    assert row["end_reason"] == "caller_hung_up", why
    assert row["malformed_frames"] == sent_bad, why
    assert ("caller", SINK, 0) in turns(phone_server, caller.call_sid), why
