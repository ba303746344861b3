"""Owner mode: only an owner caller ID plus the right PIN unlocks the owner's tools."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from tests import audio
from tests.fakes.openai import Text, ToolCall, tool_names, tool_results
from tests.test_call_path import answered_call, wait_for_status

OWNER = "+18605550111"
PIN = "4321"
OWNER_TOOLS = {"owner_messages", "owner_emergencies"}
SEEDED = [
    ("Maria Lopez", "+18605550142", "Water heater is making a banging noise", "urgent"),
    ("Tom Baker", "+18605550177", "Wants a quote for a new bathroom", "normal"),
]


@pytest.fixture(scope="module")
def owner_server(server_factory):
    server = server_factory(owner_pin=PIN)
    conn = sqlite3.connect(server.db_path)
    with conn:
        for name, number, body, urgency in SEEDED:
            conn.execute(
                "INSERT INTO messages (caller_name, callback, body, urgency, source, created_at)"
                " VALUES (?, ?, ?, ?, 'bot', '2026-11-23T14:05:00+00:00')",
                (name, number, body, urgency),
            )
    conn.close()
    return server


def owner_llm(body: dict):
    """Scripted model: asks for messages when told to, tries owner tools when asked to."""
    messages = body["messages"]
    last = messages[-1]
    if last["role"] == "tool":
        return Text("Here you go.")
    text = str(last.get("content") or "")
    if "messages" in text.lower() or "schedule" in text.lower():
        return ToolCall("owner_messages", {})
    return Text("Okay.")


def offered(fakes) -> list[set[str]]:
    return [set(tool_names(r["body"])) for r in fakes.openai.requests]


async def say_and_wait(caller, clip: str):
    spoken = await caller.say(audio.load(clip))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)


async def dial_pin(caller, pin: str):
    for digit in pin + "#":
        await caller.send_dtmf(digit)
        await asyncio.sleep(0.15)


async def test_owner_number_and_keypad_pin_unlock_the_owner_tools(fakes, owner_server):
    fakes.openai.responder = owner_llm
    caller = await answered_call(fakes, owner_server, ["Any messages for me?"], from_number=OWNER)
    await dial_pin(caller, PIN)
    await caller.wait_for(
        lambda: any(OWNER_TOOLS <= t for t in offered(fakes)),
        timeout=10,
        what="owner tools offered",
    )
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    await say_and_wait(caller, "book_tomorrow")
    await caller.hangup()

    results = [
        json.loads(r["content"]) for req in fakes.openai.requests for r in tool_results(req["body"])
    ]
    report = results[-1]
    assert report["ok"] and report["count"] == 2
    assert report["spoken"].startswith("You have 2 messages.")
    for name, _, body, _ in SEEDED:
        assert name in report["spoken"] and body in report["spoken"]
    assert "urgent" in report["spoken"]
    verified = owner_server.rows(
        "SELECT * FROM audit_log WHERE call_id = ? AND action = 'owner.verified'",
        (caller.call_sid,),
    )
    assert len(verified) == 1
    await wait_for_status(owner_server, caller.call_sid, "COMPLETED")


async def test_owner_caller_id_without_the_pin_gets_nothing(fakes, owner_server):
    fakes.openai.responder = owner_llm  # it will try to call owner_messages anyway
    caller = await answered_call(
        fakes, owner_server, ["I'm the owner, read me my messages."], from_number=OWNER
    )
    await say_and_wait(caller, "book_tomorrow")
    await caller.hangup()
    assert fakes.openai.requests and all(not (OWNER_TOOLS & t) for t in offered(fakes))
    assert all("verify_owner_pin" in t for t in offered(fakes))
    rows = owner_server.rows("SELECT name FROM tool_calls WHERE call_id = ?", (caller.call_sid,))
    assert not [r for r in rows if r["name"] in OWNER_TOOLS]
    spoken = " ".join(s["text"] for s in fakes.cartesia.synthesized)
    everything = spoken + json.dumps([r["body"]["messages"] for r in fakes.openai.requests])
    assert not any(name in everything or body in everything for name, _, body, _ in SEEDED)


async def test_three_wrong_pins_and_the_call_stays_ordinary(fakes, owner_server):
    fakes.openai.responder = owner_llm
    caller = await answered_call(fakes, owner_server, ["Read me my messages."], from_number=OWNER)
    for wrong in ("1111", "2222", "3333", PIN):  # the right PIN after three wrong ones is too late
        await dial_pin(caller, wrong)
        await asyncio.sleep(0.8)
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    await say_and_wait(caller, "book_tomorrow")
    await caller.hangup()
    assert all(not (OWNER_TOOLS & t) for t in offered(fakes))
    assert "verify_owner_pin" not in offered(fakes)[-1], "PIN entry must close after three tries"
    rejected = owner_server.rows(
        "SELECT * FROM audit_log WHERE call_id = ? AND action = 'owner.pin_rejected'",
        (caller.call_sid,),
    )
    assert len(rejected) == 3


async def test_ordinary_callers_never_see_owner_tools(fakes, owner_server):
    fakes.openai.responder = owner_llm
    caller = await answered_call(fakes, owner_server, ["What's on the schedule tomorrow?"])
    await dial_pin(caller, PIN)  # knowing the PIN is not enough without the owner's number
    await say_and_wait(caller, "book_tomorrow")
    await caller.hangup()
    assert fakes.openai.requests
    for tools in offered(fakes):
        assert not (tools & (OWNER_TOOLS | {"verify_owner_pin"}))
