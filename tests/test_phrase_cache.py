"""The greeting is synthesized once per voice, then replayed from memory on later calls."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.caller import FakeTwilioCaller, dominant_freq


@pytest.fixture(scope="module")
def server(server_factory):
    return server_factory()


def greeting_text() -> str:
    from bot.config import DEFAULT_PROFILE
    from bot.profile import load_profile

    return load_profile(DEFAULT_PROFILE).greeting


async def greeted(fakes, server) -> tuple[FakeTwilioCaller, float]:
    caller = FakeTwilioCaller(
        server.url, server.public_base_url, fakes.twilio.auth_token, fakes.twilio.account_sid
    )
    assert (await caller.dial()).status_code == 200
    await caller.connect()
    first = await caller.wait_for_bot_audio(after_t=0, timeout=15, voiced_only=True)
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=30, voiced_only=True)
    return caller, first - caller.started_t


async def bot_turns(server, call_sid: str) -> list[str]:
    for _ in range(100):
        rows = server.rows(
            "SELECT text FROM turns WHERE call_id = ? AND role = 'bot' ORDER BY seq", (call_sid,)
        )
        if rows:
            return [r["text"] for r in rows]
        await asyncio.sleep(0.1)
    return []


async def test_second_call_hears_the_cached_greeting(fakes, server):
    greeting = greeting_text()
    first, _ = await greeted(fakes, server)
    await first.hangup()
    assert fakes.cartesia.spoken_texts().count(greeting) == 1

    fakes.cartesia.first_audio_latency_s = 1.0  # a slow TTS must not delay a cached greeting
    second, delay = await greeted(fakes, server)
    await second.hangup()

    assert fakes.cartesia.spoken_texts().count(greeting) == 1, "greeting synthesized again"
    assert delay < 0.5
    audio = second.bot_audio()
    assert abs(len(audio) - len(first.bot_audio())) < 8000 * 0.2  # the whole greeting played
    assert abs(dominant_freq(audio) - 440) < 25
    # Word timestamps are replayed too, so the call record holds what the caller heard.
    assert (await bot_turns(server, second.call_sid))[0] == greeting
