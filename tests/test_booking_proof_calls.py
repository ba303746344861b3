"""Bookings over real calls: a spoofed number plus a name cancels nothing; texts go only to
numbers the business may text.

The real server (Google Calendar configured, pointed at the fake) takes calls from the fake Twilio
caller; a scripted LLM does whatever the caller asks, as a manipulated model would. Assertions are
on the fake calendar, the texts at the fake Twilio, and the server's database.
"""

from __future__ import annotations

import re

import pytest

from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall
from tests.test_scheduling_calls import (
    DETAILS,
    NUMBER,
    found_ref,
    one_request_call,
    result_of,
    say,
    sms,
    tools_run,
)

pytestmark = pytest.mark.e2e


def booking_script(*callbacks: str) -> ScriptedLLM:
    """Check availability, then book the first options, one per callback number, then speak."""
    booked: list[str] = []

    def next_booking(body):
        if len(booked) == len(callbacks):
            return Text(result_of(body, "book_appointment")["say"])
        options = result_of(body, "check_availability")["options"]
        booked.append(callbacks[len(booked)])
        return ToolCall(
            "book_appointment",
            {
                **DETAILS,
                "slot_id": options[2 * (len(booked) - 1)]["slot_id"],  # apart by the buffer
                "callback_number": booked[-1],
            },
        )

    return ScriptedLLM(
        [
            Rule(
                when_user_contains="book me in",
                reply=ToolCall("check_availability", {"when": "the earliest you have"}),
            ),
            Rule(after_tool="check_availability", reply=next_booking),
            Rule(after_tool="book_appointment", reply=next_booking),
        ]
    )


async def test_spoofed_number_and_name_cannot_cancel_but_the_booking_code_can(fakes, phone_server):
    await one_request_call(
        fakes,
        phone_server,
        booking_script(NUMBER),
        "Can you book me in as soon as possible?",
        NUMBER,
        "You're booked",
    )
    [confirmation] = sms(fakes)
    code = re.search(r"Booking code (\d{6})\.", confirmation["form"]["Body"]).group(1)
    [event] = fakes.google.live_events()

    # The victim's number (spoofed) and name, a guessed code, then a cancel with a made-up ref.
    guess = f"{(int(code) + 1) % 1_000_000:06d}"
    attacker = ScriptedLLM(
        [
            Rule(
                when_user_contains="cancel my appointment",
                reply=ToolCall("find_my_appointments", {"customer_name": "John Smith"}),
            ),
            Rule(
                after_tool="find_my_appointments",
                once=True,
                reply=ToolCall(
                    "find_my_appointments", {"customer_name": "John Smith", "booking_code": guess}
                ),
            ),
            Rule(
                after_tool="find_my_appointments",
                reply=ToolCall("cancel_appointment", {"booking_ref": "0123456789abcdef"}),
            ),
            Rule(
                after_tool="cancel_appointment",
                reply=lambda body: Text(result_of(body, "cancel_appointment")["error"]),
            ),
        ]
    )
    caller, spoken = await one_request_call(
        fakes,
        phone_server,
        attacker,
        "Please cancel my appointment.",
        NUMBER,
        "I need to find the booking first",
    )
    rows = phone_server.rows(
        "SELECT name, ok, result FROM tool_calls WHERE call_id = ? ORDER BY id", (caller.call_sid,)
    )
    assert [(r["name"], r["ok"]) for r in rows] == [
        ("find_my_appointments", 0),
        ("find_my_appointments", 0),
        ("cancel_appointment", 0),
    ]
    for row in rows:
        assert "12 Oak" not in row["result"] and code not in row["result"]
    assert fakes.google.live_events() == [event]
    assert [r["status"] for r in phone_server.rows("SELECT status FROM bookings")] == ["confirmed"]
    assert len(sms(fakes)) == 1  # no cancellation text

    # The customer: the same number and name, and the code from the confirmation text.
    customer = ScriptedLLM(
        [
            Rule(
                when_user_contains="cancel my appointment",
                reply=ToolCall(
                    "find_my_appointments", {"customer_name": "john smith", "booking_code": code}
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
        fakes, phone_server, customer, "Please cancel my appointment.", NUMBER, "is cancelled"
    )
    assert tools_run(phone_server, caller.call_sid) == [
        ("find_my_appointments", None),
        ("cancel_appointment", "cancelled"),
    ]
    assert fakes.google.live_events() == []
    assert "cancelled" in sms(fakes)[-1]["form"]["Body"]


async def test_no_confirmation_text_to_satellite_or_foreign_numbers_but_the_bookings_stand(
    fakes, phone_server
):
    caller, spoken = await one_request_call(
        fakes,
        phone_server,
        booking_script("+881612345678", "+33 6 12 34 56 78"),
        "Can you book me in as soon as possible?",
        "+12125550123",
        "You're booked",
    )
    assert tools_run(phone_server, caller.call_sid) == [
        ("check_availability", None),
        ("book_appointment", "booked"),
        ("book_appointment", "booked"),
    ]
    assert "I can't send a text to that number, so please note your booking code" in spoken
    assert "confirmation text is on its way" not in spoken
    assert sms(fakes) == [] and fakes.twilio.messages == []  # nothing reached Twilio
    assert len(fakes.google.live_events()) == 2
    rows = phone_server.rows(
        "SELECT phone, status FROM bookings WHERE call_id = ? ORDER BY start_utc",
        (caller.call_sid,),
    )
    assert [(r["phone"], r["status"]) for r in rows] == [
        ("+881612345678", "confirmed"),
        ("+33612345678", "confirmed"),
    ]
    assert not phone_server.rows(
        "SELECT 1 FROM outbox WHERE to_number IN ('+881612345678', '+33612345678')"
    )
