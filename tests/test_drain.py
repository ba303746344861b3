"""Graceful drain (reliability §7 #13), with a real SIGTERM to the real server process.

After the signal the server takes no new calls (/ready 503, a new webhook gets voicemail TwiML with
no stream), a live call carries on talking until it ends or DRAIN_SECS pass, then hears a goodbye,
is hung up through Twilio's REST API and its record says `server_shutdown`; then the process
exits. The same holds with uvicorn's supervisor and two worker processes.
"""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from tests import audio
from tests.fakes._base import now
from tests.fakes.openai import ScriptedLLM, Text
from tests.server_proc import listens_on, port_of, worker_processes
from tests.test_call_path import answered_call, call_row, new_caller, wait_for_status

pytestmark = pytest.mark.e2e

DRAIN_SECS = 4.0
GOODBYE_WORDS = "our system is restarting"
REPLY = "Okay, and what is the address?"


async def _all_workers_listening(server) -> None:
    workers = worker_processes(server)
    for _ in range(300):
        if all(listens_on(w, port_of(server)) for w in workers):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("workers never listened")


async def _ready_status(server) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(server.url + "/ready", timeout=5)


async def _wait_exit(server, within: float) -> float:
    t0 = now()
    while server.proc.poll() is None:
        if now() - t0 > within:
            raise AssertionError(f"server still running {within} s after the drain")
        await asyncio.sleep(0.1)
    return now()


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_lets_a_live_call_talk_then_says_goodbye(fakes, server_factory, workers):
    server = server_factory(
        drain_secs=DRAIN_SECS, workers=workers, test_page_enabled="false", silence_reprompt_secs=30
    )
    if workers > 1:
        await _all_workers_listening(server)
    assert (await _ready_status(server)).status_code == 200
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    caller = await answered_call(fakes, server, [audio.FIXTURES["my_name"]])

    t_term = now()
    server.proc.send_signal(signal.SIGTERM)

    # The live call keeps going: the caller speaks after the signal and is answered.
    await asyncio.sleep(0.5)
    said = await caller.say(audio.load("my_name"))
    answered_t = await caller.wait_for_bot_audio(
        said["t_last_voiced_frame"], timeout=10, voiced_only=True
    )
    assert not caller.closed
    assert answered_t - t_term > 1.0

    # No new calls: readiness fails and a new caller is offered voicemail, not a stream.
    ready = await _ready_status(server)
    assert ready.status_code == 503 and ready.json()["draining"] is True
    newcomer = new_caller(fakes, server)
    response = await newcomer.dial()
    assert response.status_code == 200
    assert "<Connect" not in response.text and "<Stream" not in response.text
    assert "<Record" in response.text
    refused = call_row(server, newcomer.call_sid)
    assert (refused["status"], refused["end_reason"]) == ("FAILED", "server_draining")

    # At DRAIN_SECS the caller hears the goodbye, is hung up, and the socket closes.
    await caller.wait_for(lambda: caller.closed, timeout=DRAIN_SECS + 30, what="the drain goodbye")
    survived = caller.closed_t - t_term
    print(
        f"\nworkers={workers}: the live call survived SIGTERM for {survived:.2f} s "
        f"(DRAIN_SECS={DRAIN_SECS})"
    )
    assert survived >= DRAIN_SECS
    goodbye = [s for s in fakes.cartesia.synthesized if GOODBYE_WORDS in s["text"]]
    assert len(goodbye) == 1
    assert caller.bot_audio(after_t=t_term + DRAIN_SECS), "the goodbye was not heard"
    assert [u["form"] for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid] == [
        {"Status": "completed"}
    ]
    row = await wait_for_status(server, caller.call_sid, "COMPLETED")
    assert row["end_reason"] == "server_shutdown"
    assert ("bot", REPLY, 0) in [
        (r["role"], r["text"], r["interrupted"])
        for r in server.rows("SELECT * FROM turns WHERE call_id = ?", (caller.call_sid,))
    ]
    exited = await _wait_exit(server, within=20)
    print(f"workers={workers}: process exited {exited - t_term:.2f} s after SIGTERM")


async def test_drain_ends_as_soon_as_the_last_call_does(fakes, server_factory):
    server = server_factory(drain_secs=120, test_page_enabled="false")
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    caller = await answered_call(fakes, server, [])
    t_term = now()
    server.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.5)
    assert server.proc.poll() is None, "the server quit with a call still live"
    assert not caller.closed
    await caller.hangup()
    exited = await _wait_exit(server, within=15)
    print(f"\nexited {exited - t_term:.2f} s after SIGTERM, the call having ended at 1.5 s")
    row = call_row(server, caller.call_sid)
    assert row["end_reason"] == "caller_hung_up"
    assert not any(GOODBYE_WORDS in s["text"] for s in fakes.cartesia.synthesized)


async def test_a_second_signal_stops_at_once_and_the_record_says_why(fakes, server_factory):
    server = server_factory(drain_secs=120, test_page_enabled="false")
    caller = await answered_call(fakes, server, [])
    server.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.0)
    assert not caller.closed
    t_second = now()
    server.proc.send_signal(signal.SIGTERM)
    try:
        await caller.wait_for(lambda: caller.closed, timeout=10, what="the socket closing")
    except TimeoutError:
        print(server.log()[-5000:])
        raise
    await _wait_exit(server, within=15)
    print(f"\nsecond SIGTERM: socket closed {caller.closed_t - t_second:.2f} s later")
    row = call_row(server, caller.call_sid)
    assert (row["status"], row["end_reason"]) == ("FAILED", "server_shutdown")
