"""Owner PIN over real calls: keypad only, ended with #, limited across calls, never stored.

The real server takes calls from the fake Twilio caller; keypad presses travel as Media Streams
`dtmf` events. Assertions are on the audit log, the turns and tool calls stored, what reached the
OpenAI fake, and the texts at the Twilio fake.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests import audio
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall, tool_names
from tests.server_proc import start_server
from tests.test_call_path import answered_call

pytestmark = pytest.mark.e2e

OWNER = "+18605550111"  # the Bristol Plumbing profile's owner phone
PIN = "4321"
OWNER_TOOLS = {"owner_messages", "owner_emergencies"}
SPOKEN_PIN = ("4 3 2 1", "4321", "four three two one", "4, 3, 2, 1")


@pytest.fixture(scope="module")
def pin_server(server_factory):
    return server_factory(owner_pin=PIN)


def owner_actions(server, call_sid: str) -> list[str]:
    rows = server.rows(
        "SELECT action FROM audit_log WHERE call_id = ? AND actor = 'caller' ORDER BY id",
        (call_sid,),
    )
    return [r["action"] for r in rows]


async def until_attempts(caller, server, n: int) -> list[str]:
    await caller.wait_for(
        lambda: len(owner_actions(server, caller.call_sid)) >= n, timeout=10, what=f"{n} attempts"
    )
    return owner_actions(server, caller.call_sid)


async def keypad(caller, keys: str) -> None:
    for key in keys:
        await caller.send_dtmf(key)
        await asyncio.sleep(0.1)


def offered(fakes) -> list[set[str]]:
    return [set(tool_names(r["body"])) for r in fakes.openai.requests]


def texts_to(fakes, number: str) -> list[str]:
    return [
        m["form"]["Body"]
        for m in fakes.twilio.messages
        if m["form"]["To"] == number and m["status"] == 201
    ]


async def test_keypad_pin_is_only_checked_after_the_hash_key(fakes, pin_server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Okay."))
    caller = await answered_call(fakes, pin_server, [], from_number=OWNER)
    await keypad(caller, "9*" + PIN)  # '*' starts again; no '#' yet
    await asyncio.sleep(2.0)
    assert owner_actions(pin_server, caller.call_sid) == [], "checked before '#' was pressed"
    assert all(not (OWNER_TOOLS & tools) for tools in offered(fakes))
    await keypad(caller, "#")
    assert await until_attempts(caller, pin_server, 1) == ["owner.verified"]
    await caller.wait_for(
        lambda: any(OWNER_TOOLS <= tools for tools in offered(fakes)),
        timeout=10,
        what="owner tools offered",
    )
    await caller.hangup()


async def test_a_spoken_pin_is_withheld_from_the_llm_and_the_record(fakes, pin_server):
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(when_user_contains="messages", reply=ToolCall("verify_owner_pin", {})),
            Rule(after_tool="verify_owner_pin", reply=Text("Please type it on the keypad.")),
        ],
        default=Text("Please use the keypad for your PIN."),
    )
    lines = ["My PIN is 4 3 2 1, read me my messages.", "It's four three two one."]
    caller = await answered_call(fakes, pin_server, lines, from_number=OWNER)
    for _ in lines:
        spoken = await caller.say(audio.load("book_tomorrow"))
        await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
        await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    await caller.hangup()
    assert fakes.deepgram.sent_texts(caller.call_sid) == lines  # the STT did hear it

    said = [
        r["text"]
        for r in pin_server.rows(
            "SELECT text FROM turns WHERE call_id = ? AND role = 'caller' ORDER BY seq",
            (caller.call_sid,),
        )
    ]
    assert said == [
        "My PIN is [digits withheld], read me my messages.",
        "It's [digits withheld].",
    ]
    tool_rows = pin_server.rows(
        "SELECT name, arguments FROM tool_calls WHERE call_id = ?", (caller.call_sid,)
    )
    assert [(r["name"], json.loads(r["arguments"])) for r in tool_rows] == [
        ("verify_owner_pin", {})
    ]
    # What was said, not ids or timestamps (whose digits can hold "4321" by chance).
    to_llm = json.dumps(
        [m.get("content") for r in fakes.openai.requests for m in r["body"]["messages"]]
    )
    stored = json.dumps([r["text"] for r in pin_server.rows("SELECT text FROM turns")])
    stored += json.dumps(
        [tuple(r) for r in pin_server.rows("SELECT arguments, result FROM tool_calls")]
    )
    for form in SPOKEN_PIN:
        assert form not in to_llm and form not in stored and form not in pin_server.log()
    # The tool takes no PIN, and a spoken PIN unlocks nothing.
    [schema] = [
        t["function"]
        for t in fakes.openai.requests[0]["body"]["tools"]
        if t["function"]["name"] == "verify_owner_pin"
    ]
    assert not schema["parameters"].get("properties")
    assert owner_actions(pin_server, caller.call_sid) == []
    assert all(not (OWNER_TOOLS & tools) for tools in offered(fakes))


async def test_six_wrong_pins_over_two_calls_lock_out_the_right_pin_on_the_third(
    fakes, server_factory
):
    server = server_factory(owner_pin=PIN)  # its own database: a clean attempt history
    fakes.openai.responder = ScriptedLLM([], default=Text("Okay."))
    wrong = iter(["1111", "2222", "3333", "5555", "6666", "7777"])
    for _ in range(2):
        caller = await answered_call(fakes, server, [], from_number=OWNER)
        for n in range(1, 4):
            await keypad(caller, next(wrong) + "#")
            await until_attempts(caller, server, n)
        await caller.hangup()
    # 5 failures lock the number; the 6th is refused without being compared.
    assert owner_actions(server, caller.call_sid) == [
        "owner.pin_rejected",
        "owner.pin_rejected",
        "owner.pin_locked_out",
    ]

    third = await answered_call(fakes, server, [], from_number=OWNER)
    await keypad(third, PIN + "#")
    assert await until_attempts(third, server, 1) == ["owner.pin_locked_out"]
    await asyncio.sleep(1.0)  # the LLM's answer to the refusal
    await third.hangup()
    assert all(not (OWNER_TOOLS & tools) for tools in offered(fakes))
    assert not server.rows("SELECT 1 FROM audit_log WHERE action = 'owner.verified'")

    [lockout] = texts_to(fakes, OWNER)  # one text for the lockout, not one per attempt
    assert "PIN entry is locked after 5 wrong PINs" in lockout and PIN not in lockout
    details = json.dumps([dict(r) for r in server.rows("SELECT * FROM audit_log")])
    for pin in (PIN, "1111", "2222", "3333", "5555", "6666", "7777"):
        assert pin not in details and pin not in server.log()


def test_an_owner_pin_that_is_not_4_to_8_digits_stops_the_server_with_one_line(tmp_path):
    with pytest.raises(RuntimeError) as failed:
        start_server(tmp_path, {"OWNER_PIN": "swordfish"}, timeout=60)
    log = str(failed.value)
    errors = [line for line in log.splitlines() if "Pipecat" not in line][1:]
    assert errors == [
        "configuration error: OWNER_PIN: must be 4 to 8 digits (the owner types it on the "
        "keypad, then #)"
    ]
    assert "swordfish" not in log and "Traceback" not in log
