"""How calls end when nobody says goodbye: silence, the length limit, and a server crash."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from tests import audio
from tests.fakes.openai import ScriptedLLM, Text
from tests.server_proc import start_server
from tests.test_call_path import answered_call, new_caller, turns

pytestmark = pytest.mark.e2e

REPROMPTS = ["Are you still there?", "I'm still here if you need anything. Just say so."]


async def test_silent_caller_is_reprompted_then_politely_hung_up(fakes, server_factory):
    server = server_factory(silence_reprompt_secs=1.5, silence_reprompts=2)
    caller = new_caller(fakes, server)
    await caller.dial()
    await caller.connect()
    await caller.wait_for(lambda: caller.closed, timeout=40, what="the bot ending a silent call")
    spoken = [s["text"] for s in fakes.cartesia.synthesized if s["text"].strip()]
    joined = " ".join(spoken)
    assert joined.index(REPROMPTS[0]) < joined.index(REPROMPTS[1]) < joined.index("Goodbye.")
    assert joined.count(REPROMPTS[0]) == 1
    hangups = [u for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid]
    assert [u["form"] for u in hangups] == [{"Status": "completed"}]
    row = await _final(server, caller.call_sid)
    assert row["end_reason"] == "silence" and row["status"] == "COMPLETED"


async def _final(server, call_sid):
    for _ in range(100):
        rows = server.rows("SELECT * FROM calls WHERE call_sid = ?", (call_sid,))
        if rows and rows[0]["status"] != "ACTIVE":
            return rows[0]
        await asyncio.sleep(0.1)
    raise AssertionError("call never closed")


async def test_call_longer_than_the_limit_is_wrapped_up(fakes, server_factory):
    server = server_factory(max_call_secs=9, silence_reprompt_secs=30)
    fakes.openai.responder = ScriptedLLM([], default=Text("Sure, go on."))
    caller = await answered_call(fakes, server, [audio.FIXTURES["leaking_sink"]])
    await caller.say(audio.load("leaking_sink"))
    await caller.wait_for(lambda: caller.closed, timeout=30, what="the time limit ending the call")
    assert any("time limit" in s["text"] for s in fakes.cartesia.synthesized)
    row = await _final(server, caller.call_sid)
    assert (row["status"], row["end_reason"]) == ("COMPLETED", "max_duration")
    assert [u["form"] for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid] == [
        {"Status": "completed"}
    ]


async def test_server_crash_keeps_the_record_and_every_turn(fakes, tmp_path):
    env = fakes.env() | {"CALL_HEARTBEAT_SECS": "0.5"}
    server = start_server(tmp_path, env)
    try:
        fakes.openai.responder = ScriptedLLM([], default=Text("Okay, and what is the address?"))
        caller = await answered_call(fakes, server, [audio.FIXTURES["my_name"]])
        spoken = await caller.say(audio.load("my_name"))
        await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
        await caller.wait_for_bot_silence(quiet_s=0.6, timeout=15, voiced_only=True)
        os.kill(server.proc.pid, signal.SIGKILL)  # no shutdown hooks run
        server.proc.wait(timeout=10)
    finally:
        server.stop()
    before = turns(server, caller.call_sid)
    assert ("caller", audio.FIXTURES["my_name"], 0) in before
    assert ("bot", "Okay, and what is the address?", 0) in before
    assert server.rows("SELECT status FROM calls")[0]["status"] == "ACTIVE"

    # A new process on the same database closes the lost call and keeps its turns.
    restarted = start_server(tmp_path, env | {"STALE_CALL_SECS": "1"})
    try:
        row = await _final(restarted, caller.call_sid)
        assert (row["status"], row["end_reason"]) == ("FAILED", "lost_on_restart")
        assert turns(restarted, caller.call_sid) == before
        check = restarted.rows("PRAGMA integrity_check")
        assert check[0][0] == "ok"
    finally:
        restarted.stop()


async def test_llm_that_stops_answering_still_gets_the_callers_message_taken(fakes, server_factory):
    server = server_factory(llm_stall_secs=1.5, llm_give_up_secs=4)
    fakes.call(fakes.openai.hang_next(50))
    message = "This is Ann Lee, please call me back about my boiler."
    caller = await answered_call(fakes, server, [audio.FIXTURES["leaking_sink"], message])
    await caller.say(audio.load("leaking_sink"))
    await caller.wait_for(
        lambda: any("having trouble" in s["text"] for s in fakes.cartesia.synthesized),
        timeout=20,
        what="the fallback asking for a message",
    )
    spoken = " ".join(s["text"] for s in fakes.cartesia.synthesized)
    assert spoken.index("just one moment") < spoken.index("having trouble")
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    await caller.say(audio.load("my_name"))
    await caller.wait_for(lambda: caller.closed, timeout=30, what="goodbye after the message")
    row = await _final(server, caller.call_sid)
    assert (row["status"], row["end_reason"]) == ("FAILED", "llm_unavailable")
    stored = server.rows(
        "SELECT body, callback, source FROM messages WHERE call_id = ?", (caller.call_sid,)
    )
    assert [tuple(r) for r in stored] == [(message, caller.from_number, "fallback")]
    owner_sms = [m for m in fakes.twilio.messages if message in m["form"]["Body"]]
    assert len(owner_sms) == 1
    assert [u["form"] for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid] == [
        {"Status": "completed"}
    ]
