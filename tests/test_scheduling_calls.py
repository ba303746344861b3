"""Booking, rescheduling and cancelling over a real phone call, end to end.

The real server (Google Calendar configured, pointed at the fake) takes three calls from the fake
Twilio caller; a scripted LLM drives the tools, reading slot ids and booking refs from earlier
tool results as a model would. Assertions are on the fake calendar, the SMS at the fake Twilio,
and the server's database.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests import audio
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall, tool_name_for_call_id
from tests.test_call_path import answered_call, wait_for_status

NUMBER = "+18605550199"  # the customer's phone: caller ID on calls 1 and 2, and the SMS target
TZ = ZoneInfo("America/New_York")
DETAILS = {
    "customer_name": "John Smith",
    "callback_number": "860 555 0199",
    "service_address": "12 Oak Street, Bristol, CT 06010",
    "problem_summary": "Kitchen sink leaking under the cabinet",
}


def result_of(body: dict[str, Any], tool: str) -> dict[str, Any]:
    """The latest result of `tool` in the conversation sent to the LLM."""
    for message in reversed(body["messages"]):
        if (
            message.get("role") == "tool"
            and tool_name_for_call_id(body, message.get("tool_call_id", "")) == tool
        ):
            return json.loads(message["content"])
    raise AssertionError(f"no {tool} result in the request")


def found_ref(body: dict[str, Any]) -> str:
    """The booking_ref of the first appointment find_my_appointments returned."""
    return result_of(body, "find_my_appointments")["appointments"][0]["booking_ref"]


def say(tool: str) -> Rule:
    """After `tool`, speak exactly the 'say' text its result gave (or its error)."""
    return Rule(
        after_tool=tool,
        reply=lambda body: Text(result_of(body, tool).get("say") or result_of(body, tool)["error"]),
    )


async def bot_said(server, call_sid: str, words: str, wait_secs: float = 20.0) -> str:
    for _ in range(int(wait_secs / 0.1)):
        for row in server.rows(
            "SELECT text FROM turns WHERE call_id = ? AND role = 'bot'", (call_sid,)
        ):
            if words in row["text"]:
                return row["text"]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot never said {words!r} on {call_sid}")


async def one_request_call(fakes, server, responder, words: str, caller_id: str, confirm: str):
    """A call where the caller asks for one thing; the LLM chains the tools; then hang up."""
    fakes.openai.responder = responder
    caller = await answered_call(fakes, server, [words], from_number=caller_id)
    await caller.say(audio.load("book_tomorrow"))
    spoken = await bot_said(server, caller.call_sid, confirm)
    await caller.hangup()
    await wait_for_status(server, caller.call_sid, "COMPLETED")
    return caller, spoken


def sms(fakes) -> list[dict]:
    return [m for m in fakes.twilio.messages if m["status"] == 201]


def tools_run(server, call_sid: str) -> list[tuple[str, str | None]]:
    rows = server.rows(
        "SELECT name, result FROM tool_calls WHERE call_id = ? ORDER BY id", (call_sid,)
    )
    return [(r["name"], json.loads(r["result"]).get("status")) for r in rows]


def flags(server, call_sid: str) -> list[str]:
    return json.loads(server.rows("SELECT flags FROM calls WHERE id = ?", (call_sid,))[0]["flags"])


async def test_book_then_reschedule_then_cancel_by_phone(fakes, phone_server):
    # ---- call 1: book ------------------------------------------------------------------------
    booking = ScriptedLLM(
        [
            Rule(
                when_user_contains="book me in",
                reply=ToolCall("check_availability", {"when": "the earliest you have"}),
            ),
            Rule(
                after_tool="check_availability",
                reply=lambda body: ToolCall(
                    "book_appointment",
                    {
                        "slot_id": result_of(body, "check_availability")["options"][0]["slot_id"],
                        **DETAILS,
                    },
                ),
            ),
            say("book_appointment"),
        ]
    )
    caller, spoken = await one_request_call(
        fakes,
        phone_server,
        booking,
        "Can you book me in as soon as possible?",
        NUMBER,
        "You're booked",
    )
    assert tools_run(phone_server, caller.call_sid) == [
        ("check_availability", None),
        ("book_appointment", "booked"),
    ]
    [event] = fakes.google.live_events()
    assert event["summary"] == "Bristol Plumbing - Plumbing repair - John Smith"
    assert event["location"] == DETAILS["service_address"]
    assert event["start"]["timeZone"] == "America/New_York"
    start = datetime.fromisoformat(event["start"]["dateTime"])
    end = datetime.fromisoformat(event["end"]["dateTime"])
    assert (end - start).total_seconds() == 3600
    assert start.utcoffset() == start.astimezone(TZ).utcoffset()  # local time, local offset
    for line in (
        f"Problem: {DETAILS['problem_summary']}",
        f"Callback: {NUMBER}",
        "Emergency: no",
        f"Call: {caller.call_sid}",
    ):
        assert line in event["description"]
    row = phone_server.rows("SELECT * FROM bookings")[0]
    assert row["status"] == "confirmed" and row["event_id"] == event["id"]
    assert datetime.fromisoformat(row["start_utc"]) == start
    # The spoken confirmation is the tool's own sentence, with the time the event really has.
    slot_words = spoken.split(" on ", 1)[1].split(".")[0]
    assert f"at {start.strftime('%-I')}" in slot_words
    [text] = sms(fakes)
    assert text["form"]["To"] == NUMBER and "your appointment is booked for" in text["form"]["Body"]
    assert "sink" not in text["form"]["Body"].lower()
    assert "claim_mismatch" not in flags(phone_server, caller.call_sid)
    verified = phone_server.rows(
        "SELECT 1 FROM audit_log WHERE call_id = ? AND action = 'claims.verified'",
        (caller.call_sid,),
    )
    assert verified

    # ---- call 2: same caller ID + the name on the booking + the code from the text, move it --
    code = re.search(r"Booking code (\d{6})\.", text["form"]["Body"]).group(1)

    def new_time(body):
        found = result_of(body, "find_my_appointments")["appointments"][0]
        options = result_of(body, "check_availability")["options"]
        same = re.sub(r" of [A-Z][a-z]+", "", found["time"])  # options omit this month's name
        choice = next(o for o in options if re.sub(r" of [A-Z][a-z]+", "", o["time"]) != same)
        return ToolCall(
            "reschedule_appointment",
            {"booking_ref": found["booking_ref"], "slot_id": choice["slot_id"]},
        )

    moving = ScriptedLLM(
        [
            Rule(
                when_user_contains="move my appointment",
                reply=ToolCall(
                    "find_my_appointments", {"customer_name": "john smith", "booking_code": code}
                ),
            ),
            Rule(
                after_tool="find_my_appointments",
                reply=lambda body: ToolCall(
                    "check_availability",
                    {
                        "when": "the earliest you have",
                        "booking_ref": found_ref(body),
                    },
                ),
            ),
            Rule(after_tool="check_availability", reply=new_time),
            say("reschedule_appointment"),
        ]
    )
    caller, _ = await one_request_call(
        fakes,
        phone_server,
        moving,
        "I need to move my appointment please.",
        NUMBER,
        "Your appointment is moved",
    )
    assert tools_run(phone_server, caller.call_sid)[-1] == ("reschedule_appointment", "moved")
    [moved] = fakes.google.live_events()
    assert moved["id"] == event["id"] and moved["start"] != event["start"]
    assert moved["description"] == event["description"]
    assert len(sms(fakes)) == 2 and "moved to" in sms(fakes)[1]["form"]["Body"]

    # ---- call 3: another phone, so name + date + ZIP, then cancel ----------------------------
    day = datetime.fromisoformat(moved["start"]["dateTime"]).date().isoformat()
    cancelling = ScriptedLLM(
        [
            Rule(
                when_user_contains="cancel my appointment",
                reply=ToolCall(
                    "find_my_appointments",
                    {
                        "customer_name": "John Smith",
                        "appointment_date": day,
                        "street_or_postcode": "06010",
                    },
                ),
            ),
            Rule(
                after_tool="find_my_appointments",
                reply=lambda body: ToolCall(
                    "cancel_appointment",
                    {"booking_ref": found_ref(body)},
                ),
            ),
            say("cancel_appointment"),
        ]
    )
    caller, _ = await one_request_call(
        fakes,
        phone_server,
        cancelling,
        "Please cancel my appointment.",
        "+12125550123",
        "is cancelled",
    )
    assert tools_run(phone_server, caller.call_sid) == [
        ("find_my_appointments", None),
        ("cancel_appointment", "cancelled"),
    ]
    assert fakes.google.live_events() == []
    assert phone_server.rows("SELECT status FROM bookings")[0]["status"] == "cancelled"
    texts = sms(fakes)
    assert len(texts) == 3 and texts[2]["form"]["To"] == NUMBER  # the number on the booking
    assert "cancelled" in texts[2]["form"]["Body"]


async def test_a_false_claim_is_flagged_on_the_call_record(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM(
        [Rule(when_user_contains="book me in", reply=Text("All done, you're booked for Tuesday."))]
    )
    caller = await answered_call(fakes, phone_server, ["Can you book me in for Tuesday?"])
    await caller.say(audio.load("book_tomorrow"))
    await bot_said(phone_server, caller.call_sid, "you're booked")
    await caller.hangup()
    await wait_for_status(phone_server, caller.call_sid, "COMPLETED")
    assert flags(phone_server, caller.call_sid) == ["claim_mismatch"]
    assert fakes.google.live_events() == [] and sms(fakes) == []
