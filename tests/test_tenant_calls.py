"""Two businesses on one server, over the wire: each number reaches its own business only.

One server with two tenant files (a plumber and a dental practice), calls to both at once. What
is checked is what a caller, an owner or Twilio would see: the prompt and tool results the LLM
got on each call, the texts at the fake Twilio (sender and recipient), and the rows written.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.tenants.pins import hash_pin
from tests import audio
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall, last_user_text, tool_names
from tests.test_call_path import answered_call, new_caller, wait_for_status
from tests.test_emergencies import sms_webhook
from tests.test_scheduling_calls import result_of

A, B = "bristol_plumbing", "riverside_dental"
NUMBER = {A: "+18605550100", B: "+442079460100"}
OWNER = {A: "+18605550111", B: "+447700900111"}
NAME = {A: "Bristol Plumbing", B: "Riverside Dental"}
PIN = {A: "2468", B: "1357"}
# One customer of each business, local to it (a business texts only numbers in its country).
CUSTOMER = {A: "+18605550177", B: "+447400123456"}
DETAILS = {
    A: {
        "customer_name": "Jane Doe",
        "callback_number": "860 555 0177",
        "service_address": "4 Elm Road, Bristol, CT 06010",
        "problem_summary": "Dripping tap in the bathroom",
    },
    B: {
        "customer_name": "Jane Doe",
        "callback_number": "07400 123456",
        "service_address": "4 Elm Road, London SE1 7PB",
        "problem_summary": "Check-up",
    },
}


def tenant_file(tenant: str) -> str:
    profile = PROJECT_ROOT / "bot" / "profiles" / f"{tenant}.yaml"
    return (
        "tenant:\n"
        f'  numbers: {{voice: ["{NUMBER[tenant]}"], sms: ["{NUMBER[tenant]}"]}}\n'
        f'  owner_pin_hash: "{hash_pin(PIN[tenant])}"\n'
        f"profile: {profile}\n"
    )


@pytest.fixture(scope="module")
def server(server_factory, tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("tenants")
    for tenant in (A, B):
        (folder / f"{tenant}.yaml").write_text(tenant_file(tenant))
    return server_factory(tenants_dir=folder, emergency_ack_secs=3, escalation_check_secs=0.3)


def requests_saying(fakes, words: str) -> list[dict]:
    """LLM requests whose latest caller line contains `words`."""
    return [
        r["body"]
        for r in fakes.openai.requests
        if words.lower() in (last_user_text(r["body"]) or "").lower()
    ]


def system_prompt(body: dict) -> str:
    return " ".join(
        str(m.get("content")) for m in body["messages"] if m.get("role") in ("system", "developer")
    )


def texts(fakes, *, to: str) -> list[dict]:
    return [
        m["form"] for m in fakes.twilio.messages if m["form"]["To"] == to and m["status"] == 201
    ]


async def call_and_say(fakes, server, tenant: str, line: str, **kw):
    caller = await answered_call(fakes, server, [line], to_number=NUMBER[tenant], **kw)
    await caller.say(audio.load("book_tomorrow"))
    return caller


async def test_each_number_reaches_its_own_business_and_its_own_calendar(fakes, server):
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(
                when_user_contains="earliest",
                reply=ToolCall("check_availability", {"when": "the earliest you have"}),
            ),
            Rule(
                after_tool="check_availability",
                reply=lambda body: ToolCall(
                    "book_appointment",
                    {
                        "slot_id": result_of(body, "check_availability")["options"][0]["slot_id"],
                        **DETAILS[A if "Alpha" in str(body["messages"]) else B],
                    },
                ),
            ),
            Rule(after_tool="book_appointment", reply=Text("You're booked in.")),
            Rule(
                when_user_contains="cost",
                reply=ToolCall("answer_faq", {"question": "How much is a check-up?"}),
            ),
            Rule(after_tool="answer_faq", reply=Text("Here is what I found.")),
        ],
        default=Text("How can I help?"),
    )
    a_line, b_line = "Alpha here, the earliest you have please.", "Bravo here, the earliest slot."
    calls = await asyncio.gather(
        call_and_say(fakes, server, A, a_line, from_number=CUSTOMER[A]),
        call_and_say(fakes, server, B, b_line, from_number=CUSTOMER[B]),
    )
    for caller in calls:
        await caller.wait_for(
            lambda c=caller: server.rows(
                "SELECT 1 FROM tool_calls WHERE call_id = ? AND name = 'book_appointment'",
                (c.call_sid,),
            ),
            timeout=20,
            what="a booking on each call",
        )
    for tenant, caller, line in ((A, calls[0], a_line), (B, calls[1], b_line)):
        other = B if tenant == A else A
        prompt = system_prompt(requests_saying(fakes, line)[0])
        assert NAME[tenant] in prompt and NAME[other] not in prompt
        row = server.rows("SELECT profile, called FROM calls WHERE id = ?", (caller.call_sid,))[0]
        assert (row["profile"], row["called"]) == (tenant, NUMBER[tenant])
        booked = json.loads(
            server.rows(
                "SELECT result FROM tool_calls WHERE call_id = ? AND name = 'book_appointment'",
                (caller.call_sid,),
            )[0]["result"]
        )
        assert booked["status"] == "booked", booked
        keys = server.rows(
            "SELECT DISTINCT calendar_key FROM bookings WHERE phone = ? AND status = 'confirmed'",
            (CUSTOMER[tenant],),
        )
        assert [k["calendar_key"] for k in keys] == [f"builtin:{tenant}"]
        # The confirmation text leaves from the number the customer called.
        await caller.wait_for(
            lambda t=tenant: texts(fakes, to=CUSTOMER[t]), timeout=10, what="a confirmation"
        )
        assert [m["From"] for m in texts(fakes, to=CUSTOMER[tenant])] == [NUMBER[tenant]]
    for caller in calls:
        await caller.hangup()

    # The dental practice's FAQ answers its own question; the plumber has no such answer.
    faq = await asyncio.gather(
        call_and_say(fakes, server, A, "Alpha: what does a check-up cost?"),
        call_and_say(fakes, server, B, "Bravo: what does a check-up cost?"),
    )
    answers = {}
    for tenant, caller in zip((A, B), faq, strict=True):
        await caller.wait_for(
            lambda c=caller: server.rows(
                "SELECT 1 FROM tool_calls WHERE call_id = ? AND name = 'answer_faq'", (c.call_sid,)
            ),
            timeout=20,
            what="an FAQ lookup",
        )
        answers[tenant] = server.rows(
            "SELECT result FROM tool_calls WHERE call_id = ? AND name = 'answer_faq'",
            (caller.call_sid,),
        )[0]["result"]
        await caller.hangup()
    assert "65 pounds" in answers[B] and "65 pounds" not in answers[A]


async def test_an_owner_is_an_owner_only_on_their_own_business_number(fakes, server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Hello there."))
    own = await call_and_say(fakes, server, A, "Alpha owner on my own line.", from_number=OWNER[A])
    other = await call_and_say(
        fakes, server, B, "Alpha owner on the dental line.", from_number=OWNER[A]
    )
    for caller, line in ((own, "own line"), (other, "dental line")):
        await caller.wait_for(
            lambda w=line: requests_saying(fakes, w), timeout=15, what=f"LLM asked on {line}"
        )
    assert "verify_owner_pin" in tool_names(requests_saying(fakes, "own line")[0])
    on_b = requests_saying(fakes, "dental line")[0]
    assert "verify_owner_pin" not in tool_names(on_b)
    assert not any(name.startswith("owner") for name in tool_names(on_b))
    # A's PIN typed on B's line unlocks nothing there.
    for key in PIN[A] + "#":
        await other.send_dtmf(key)
    await asyncio.sleep(1.0)
    assert (
        server.rows(
            "SELECT 1 FROM audit_log WHERE call_id = ? AND action LIKE 'owner.%'", (other.call_sid,)
        )
        == []
    )
    for caller in (own, other):
        await caller.hangup()


async def test_an_owners_reply_acknowledges_only_their_own_businesss_alert(fakes, server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Okay. What is your address?"))
    a_call, b_call = await asyncio.gather(
        call_and_say(fakes, server, A, "Help, a pipe burst and the basement is flooding."),
        call_and_say(fakes, server, B, "My tooth got knocked out and it won't stop bleeding."),
    )
    for tenant in (A, B):
        await a_call.wait_for(
            lambda t=tenant: texts(fakes, to=OWNER[t]), timeout=10, what=f"{tenant}'s owner alerted"
        )
        assert {m["From"] for m in texts(fakes, to=OWNER[tenant])} == {NUMBER[tenant]}

    def status(caller) -> str:
        return server.rows("SELECT status FROM alerts WHERE call_id = ?", (caller.call_sid,))[0][
            "status"
        ]

    # B's owner replies to B's number, even naming A's alert: only B's is acknowledged.
    a_ref = server.rows("SELECT id FROM alerts WHERE call_id = ?", (a_call.call_sid,))[0]["id"]
    reply = {
        "MessageSid": "SM" + "b" * 32,
        "AccountSid": b_call.account_sid,
        "From": OWNER[B],
        "To": NUMBER[B],
        "Body": f"OK A{a_ref}",
    }
    assert (await sms_webhook(server, b_call, reply)).status_code == 200
    assert status(a_call) == "open" and status(b_call) == "open"
    reply |= {"MessageSid": "SM" + "c" * 32, "Body": "OK"}
    assert (await sms_webhook(server, b_call, reply)).status_code == 200
    assert status(b_call) == "acknowledged" and status(a_call) == "open"
    # A's alert escalates on its own: A's owner is phoned, from A's number.
    await a_call.wait_for(
        lambda: [c for c in fakes.twilio.calls_created if c["form"]["To"] == OWNER[A]],
        timeout=10,
        what="A's owner phoned",
    )
    phoned = [c["form"] for c in fakes.twilio.calls_created if c["form"]["To"] in OWNER.values()]
    assert {(c["To"], c["From"]) for c in phoned} == {(OWNER[A], NUMBER[A])}
    for caller in (a_call, b_call):
        await caller.hangup()
        await wait_for_status(server, caller.call_sid, "COMPLETED")


async def test_an_unknown_number_hears_an_apology_and_leaves_no_record(fakes, server):
    caller = new_caller(fakes, server, to_number="+18605550999")
    response = await caller.dial()
    assert response.status_code == 200
    assert "cannot take your call" in response.text and "<Connect>" not in response.text
    assert server.rows("SELECT * FROM calls WHERE call_sid = ?", (caller.call_sid,)) == []
    assert "no enabled business answers" in server.log()
