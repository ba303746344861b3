"""When the TTS watch decides the TTS is dead, and when it must not (fast, no server)."""

from __future__ import annotations

import asyncio

from pipelines.tts_watch import TTSWatch

STALL = 0.15


def watch() -> tuple[TTSWatch, list[float]]:
    failures: list[float] = []

    async def failed() -> None:
        failures.append(asyncio.get_running_loop().time())

    return TTSWatch(stall_secs=STALL, max_errors=3, on_failure=failed), failures


async def test_no_audio_after_a_request_fails_once():
    w, failures = watch()
    w.expect_audio()
    await asyncio.sleep(STALL * 3)
    w.expect_audio()  # asking again after the failure changes nothing
    await asyncio.sleep(STALL * 2)
    assert len(failures) == 1


async def test_audio_or_an_interruption_stops_the_clock():
    w, failures = watch()
    w.expect_audio()
    await asyncio.sleep(STALL / 2)
    w.audio_out()
    w.text_in("Sure, one second.")
    await asyncio.sleep(STALL / 2)
    w.interrupted()
    await asyncio.sleep(STALL * 2)
    assert failures == []


async def test_llm_text_starts_the_clock_only_at_a_sentence_end_or_the_end_of_the_reply():
    w, failures = watch()
    w.text_in("Let me check what we have on Tuesday")  # the TTS waits for the sentence end
    await asyncio.sleep(STALL * 2)
    assert failures == []
    w.text_in(" and Wednesday")
    w.text_in("", end_of_reply=True)  # the reply ended without punctuation: it is flushed now
    await asyncio.sleep(STALL * 2)
    assert len(failures) == 1


async def test_whitespace_and_punctuation_alone_are_not_speech():
    w, failures = watch()
    w.text_in(" ")
    w.text_in("...", end_of_reply=True)
    await asyncio.sleep(STALL * 2)
    assert failures == []


async def test_errors_fail_only_when_in_a_row_without_audio():
    w, failures = watch()
    for _ in range(5):
        w.error()
        w.error()
        w.audio_out()
    await asyncio.sleep(0)
    assert failures == []
    w.error()
    w.error()
    w.error()
    await asyncio.sleep(0)
    assert len(failures) == 1


async def test_an_error_that_leaves_the_tts_unusable_fails_at_once():
    w, failures = watch()
    w.error(permanent=True)
    await asyncio.sleep(0)
    assert len(failures) == 1
