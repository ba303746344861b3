"""FAQ answers, messages and transfers, end to end with a scripted LLM."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.config import DEFAULT_PROFILE
from tests import audio
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall, tool_results
from tests.test_call_path import answered_call, requests_for, wait_for_status

OWNER = yaml.safe_load(DEFAULT_PROFILE.read_text())["owner"]["phones"][0]
PRICE_Q = "How much do you charge for a call out?"
PIZZA_Q = "Do you sell pizza?"
HUMAN = "Can I talk to a real person please?"


def profile_with_transfer_hours(tmp_path, hours: dict) -> str:
    data = yaml.safe_load(DEFAULT_PROFILE.read_text())
    data["transfer"]["hours"] = hours
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def last_tool_result(fakes, text: str) -> dict:
    """The newest tool result the LLM saw in a conversation containing `text`."""
    for request in reversed(requests_for(fakes, text)):
        results = tool_results(request["body"])
        if results:
            return json.loads(results[-1]["content"])
    raise AssertionError(f"no tool result in a conversation with {text!r}")


async def test_faq_answers_from_the_knowledge_base_and_admits_what_it_does_not_know(
    fakes, phone_server
):
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(when_user_contains="charge", reply=ToolCall("answer_faq", {"question": PRICE_Q})),
            Rule(when_user_contains="pizza", reply=ToolCall("answer_faq", {"question": PIZZA_Q})),
            Rule(after_tool="answer_faq", reply=Text("Here is what I found.")),
        ]
    )
    caller = await answered_call(fakes, phone_server, [PRICE_Q, PIZZA_Q])
    for clip in ("book_tomorrow", "my_name"):
        spoken = await caller.say(audio.load(clip))
        await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
        await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    await caller.hangup()

    known = [
        json.loads(r["content"]) for r in tool_results(requests_for(fakes, PRICE_Q)[1]["body"])
    ][0]
    assert known["ok"] and any("89 dollars" in p for p in known["passages"])
    unknown = last_tool_result(fakes, PIZZA_Q)
    assert unknown["ok"] is False and unknown["found"] is False
    assert "take a message" in unknown["error"]
    await wait_for_status(phone_server, caller.call_sid, "COMPLETED")


async def test_take_message_stores_it_and_texts_the_owner(fakes, phone_server):
    args = {
        "caller_name": "John Smith",
        "callback_number": "(860) 555-0199",
        "message": "Please call me about a quote for a new water heater.",
        "urgency": "normal",
    }
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(when_user_contains="john smith", reply=ToolCall("take_message", args)),
            Rule(after_tool="take_message", reply=Text("Your message is with the team.")),
        ]
    )
    caller = await answered_call(fakes, phone_server, [audio.FIXTURES["my_name"]])
    spoken = await caller.say(audio.load("my_name"))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    await caller.wait_for(
        lambda: any(m["form"]["To"] == OWNER for m in fakes.twilio.messages),
        timeout=10,
        what="owner SMS",
    )
    await caller.hangup()
    rows = phone_server.rows("SELECT * FROM messages WHERE call_id = ?", (caller.call_sid,))
    assert len(rows) == 1
    assert (rows[0]["caller_name"], rows[0]["callback"]) == ("John Smith", "+18605550199")
    sms = [m for m in fakes.twilio.messages if m["form"]["To"] == OWNER]
    assert (
        len(sms) == 1
        and "water heater" in sms[0]["form"]["Body"]
        and "+18605550199" in sms[0]["form"]["Body"]
    )


@pytest.fixture(scope="module")
def always_open_server(server_factory, tmp_path_factory):
    every_day = {
        day: ["00:00-23:59"]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    }
    return server_factory(
        business_profile=profile_with_transfer_hours(tmp_path_factory.mktemp("p"), every_day)
    )


@pytest.fixture(scope="module")
def never_open_server(server_factory, tmp_path_factory):
    return server_factory(
        business_profile=profile_with_transfer_hours(tmp_path_factory.mktemp("p"), {})
    )


async def test_transfer_redirects_the_live_call_to_a_person(fakes, always_open_server):
    fakes.openai.responder = ScriptedLLM(
        [Rule(when_user_contains="person", reply=ToolCall("transfer_call", {}))]
    )
    caller = await answered_call(fakes, always_open_server, [HUMAN])
    await caller.say(audio.load("book_tomorrow"))
    await caller.wait_for(lambda: caller.closed, timeout=20, what="stream ending for the transfer")
    updates = [u for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid]
    assert len(updates) == 1 and "Status" not in updates[0]["form"]
    twiml = updates[0]["form"]["Twiml"]
    assert "<Dial" in twiml and "+18605550111</Dial>" in twiml and "<Record" in twiml
    assert any("putting you through" in s["text"] for s in fakes.cartesia.synthesized)
    row = await wait_for_status(always_open_server, caller.call_sid, "COMPLETED")
    assert row["end_reason"] == "transferred"


async def test_transfer_outside_hours_falls_back_to_a_message(fakes, never_open_server):
    args = {
        "caller_name": "Ann Lee",
        "callback_number": "+18605550123",
        "message": "Wants a person.",
    }
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(when_user_contains="person", reply=ToolCall("transfer_call", {})),
            Rule(after_tool="transfer_call", reply=ToolCall("take_message", args)),
            Rule(after_tool="take_message", reply=Text("I've passed your message on.")),
        ]
    )
    caller = await answered_call(fakes, never_open_server, [HUMAN])
    spoken = await caller.say(audio.load("book_tomorrow"))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    await caller.wait_for(
        lambda: never_open_server.rows(
            "SELECT * FROM messages WHERE call_id = ?", (caller.call_sid,)
        ),
        timeout=15,
        what="message stored",
    )
    assert not [u for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid]
    results = [
        json.loads(r["content"])
        for req in requests_for(fakes, HUMAN)
        for r in tool_results(req["body"])
    ]
    assert results[0]["ok"] is False and "take a message" in results[0]["error"]
    assert not caller.closed
    await caller.hangup()
