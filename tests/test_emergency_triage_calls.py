"""Emergency triage over the wire: price questions stay quiet, possible emergencies are confirmed
(or alert anyway), and an owner's reply acknowledges the alert it names."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.config import DEFAULT_PROFILE
from bot.profile import load_profile
from tests import audio
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall
from tests.test_call_path import answered_call
from tests.test_emergencies import escalations, owner_sms, sms_webhook

pytestmark = pytest.mark.e2e

PROFILE = load_profile(DEFAULT_PROFILE)
OWNER = PROFILE.owner.phones[0]
POSSIBLE = "The pipe under the sink broke."
CONFIRM_SECS = 8.0  # EMERGENCY_CONFIRM_SECS of the module's server
STALL_SECS = 4.0  # LLM_STALL_SECS (default): the LLM's time to decide after the caller's answer


@pytest.fixture(scope="module")
def triage_server(server_factory):
    return server_factory(
        emergency_ack_secs=3, escalation_check_secs=0.3, emergency_confirm_secs=CONFIRM_SECS
    )


def call_sms(fakes, caller) -> list[dict]:
    """Alert texts to the owner about this caller's call."""
    return [m for m in owner_sms(fakes) if caller.call_sid[-8:] in m["form"]["Body"]]


def sent_at(fakes, text: str) -> float:
    return [t for t in fakes.deepgram.transcripts_sent if t["text"] == text][0]["t"]


def triage_rows(server, caller) -> list[dict]:
    rows = server.rows(
        "SELECT heard, outcome, cues, phone_escalation, alert_id FROM alert_triage WHERE call_id = ?",
        (caller.call_sid,),
    )
    return [dict(r) for r in rows]


def llm_told(fakes, marker: str) -> bool:
    return any(marker in str(r["body"]["messages"]) for r in fakes.openai.requests)


async def first_line(caller):
    """The caller says their first scripted line; returns once the bot has started answering."""
    spoken = await caller.say(audio.load("leaking_sink"))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)


async def answer(caller, fakes, text: str):
    """The caller says their next line (scripted transcript) once the bot has finished speaking."""
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    spoken = await caller.say(audio.load("leaking_sink"))
    await caller.wait_for(
        lambda: text in fakes.deepgram.sent_texts(), timeout=10, what=f"transcript {text!r}"
    )
    return spoken


async def test_a_price_question_gets_an_answer_and_no_text_to_the_owner(fakes, triage_server):
    question = "How much do you charge for a burst pipe?"
    fakes.openai.responder = ScriptedLLM(
        [], default=Text("A burst pipe repair is 125 dollars an hour.")
    )
    caller = await answered_call(fakes, triage_server, [question])
    spoken = await caller.say(audio.load("leaking_sink"))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    assert any("125 dollars" in s["text"] for s in fakes.cartesia.synthesized)
    await asyncio.sleep(1.0)
    assert call_sms(fakes, caller) == []
    assert not llm_told(fakes, "EMERGENCY"), "a price question is not even a possible emergency"
    assert triage_server.rows("SELECT * FROM alerts WHERE call_id = ?", (caller.call_sid,)) == []
    await caller.hangup()


async def test_possible_then_yes_its_pouring_in_texts_the_owner_within_two_seconds(
    fakes, triage_server
):
    yes = "Yes, it's pouring in."
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(
                when_user_contains="pouring",
                reply=ToolCall("flag_emergency", {"reason": "water pouring in"}),
            )
        ],
        default=Text("Is water coming in right now?"),
    )
    caller = await answered_call(fakes, triage_server, [POSSIBLE, yes])
    await first_line(caller)
    await caller.wait_for(
        lambda: llm_told(fakes, "POSSIBLE EMERGENCY"), timeout=10, what="LLM asked to confirm"
    )
    assert call_sms(fakes, caller) == [], "a possible emergency waits for the caller's answer"
    await answer(caller, fakes, yes)
    await caller.wait_for(lambda: call_sms(fakes, caller), timeout=5, what="owner alert SMS")
    sms = call_sms(fakes, caller)[0]
    assert sms["t"] - sent_at(fakes, yes) < 2.0, (
        f"texted {sms['t'] - sent_at(fakes, yes):.2f} s after the answer"
    )
    assert "#A" in sms["form"]["Body"] and "POSSIBLE" not in sms["form"]["Body"]
    await caller.wait_for(lambda: triage_rows(triage_server, caller), timeout=5, what="triage row")
    row = triage_rows(triage_server, caller)[0]
    assert row["outcome"] in ("certain", "confirmed") and row["phone_escalation"] == 1
    await caller.hangup()


async def test_possible_confirmed_by_the_llm_is_stored_as_confirmed_and_escalates(
    fakes, triage_server
):
    yes = "Yes, right now, please hurry."
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(
                when_user_contains="hurry",
                reply=ToolCall("flag_emergency", {"reason": "pipe broke, water coming in"}),
            )
        ],
        default=Text("Is water coming in right now?"),
    )
    caller = await answered_call(fakes, triage_server, [POSSIBLE, yes])
    await first_line(caller)
    await answer(caller, fakes, yes)
    await caller.wait_for(lambda: call_sms(fakes, caller), timeout=5, what="owner alert SMS")
    assert call_sms(fakes, caller)[0]["t"] - sent_at(fakes, yes) < 2.0
    await caller.wait_for(lambda: triage_rows(triage_server, caller), timeout=5, what="triage row")
    row = triage_rows(triage_server, caller)[0]
    assert (row["heard"], row["outcome"], row["phone_escalation"]) == (POSSIBLE, "confirmed", 1)
    assert any("confirmed" in cue for cue in json.loads(row["cues"]))
    await caller.hangup()
    await caller.wait_for(lambda: escalations(fakes, caller), timeout=10, what="escalation call")


async def test_possible_without_a_verdict_in_the_next_turn_texts_but_never_phones(
    fakes, triage_server
):
    unsure = "Um, I'm not sure."
    fakes.openai.responder = ScriptedLLM([], default=Text("Is water coming in right now?"))
    caller = await answered_call(fakes, triage_server, [POSSIBLE, unsure])
    await first_line(caller)
    await answer(caller, fakes, unsure)
    await caller.wait_for(
        lambda: call_sms(fakes, caller), timeout=STALL_SECS + 3, what="unconfirmed alert"
    )
    sms = call_sms(fakes, caller)[0]
    waited = sms["t"] - sent_at(fakes, unsure)
    assert STALL_SECS - 1 < waited < STALL_SECS + 2.5, f"alert {waited:.2f} s after the answer"
    assert "POSSIBLE EMERGENCY" in sms["form"]["Body"]
    row = triage_rows(triage_server, caller)[0]
    assert (row["heard"], row["outcome"], row["phone_escalation"]) == (POSSIBLE, "unconfirmed", 0)
    await caller.hangup()
    await asyncio.sleep(3 + 1.5)  # past EMERGENCY_ACK_SECS and a few escalation checks
    assert escalations(fakes, caller) == [], "an unconfirmed possible emergency never phones"
    status = triage_server.rows("SELECT status, step FROM alerts WHERE id = ?", (row["alert_id"],))[
        0
    ]
    assert tuple(status) == ("open", 0)


async def test_possible_with_a_stalled_llm_still_alerts(fakes, triage_server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Is water coming in right now?"))
    await fakes.openai.hang_next(3)
    caller = await answered_call(fakes, triage_server, [POSSIBLE])
    await caller.say(audio.load("leaking_sink"))
    await caller.wait_for(
        lambda: call_sms(fakes, caller), timeout=CONFIRM_SECS + 4, what="alert despite the LLM"
    )
    waited = call_sms(fakes, caller)[0]["t"] - sent_at(fakes, POSSIBLE)
    assert CONFIRM_SECS - 1 < waited < CONFIRM_SECS + 2.5, f"alert {waited:.2f} s after the words"
    assert triage_rows(triage_server, caller)[0]["outcome"] == "unconfirmed"
    await caller.hangup()


async def test_not_an_emergency_from_the_llm_alerts_nobody(fakes, triage_server):
    past = "No, that was last year, it's fine now."
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(
                when_user_contains="last year",
                reply=ToolCall("not_an_emergency", {"reason": "happened last year"}),
            )
        ],
        default=Text("Is water coming in right now?"),
    )
    caller = await answered_call(fakes, triage_server, [POSSIBLE, past])
    await first_line(caller)
    await answer(caller, fakes, past)
    await caller.wait_for(
        lambda: triage_rows(triage_server, caller), timeout=8, what="dismissal kept for review"
    )
    row = triage_rows(triage_server, caller)[0]
    assert (row["outcome"], row["alert_id"]) == ("dismissed", None)
    await asyncio.sleep(STALL_SECS + 1)
    assert call_sms(fakes, caller) == []
    await caller.hangup()
    await asyncio.sleep(0.5)
    assert call_sms(fakes, caller) == [], "a dismissed possible emergency is not alerted at hang-up"


# ---- owner replies ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reply_server(server_factory):
    return server_factory(emergency_ack_secs=120, escalation_check_secs=0.3)


async def certain_alert(fakes, server) -> tuple[object, int]:
    fakes.openai.responder = ScriptedLLM([], default=Text("Okay. What is your address?"))
    caller = await answered_call(
        fakes, server, ["Help, a pipe burst and the basement is flooding."]
    )
    await caller.say(audio.load("leaking_sink"))
    await caller.wait_for(lambda: call_sms(fakes, caller), timeout=10, what="alert SMS")
    await caller.hangup()
    alert_id = server.rows("SELECT id FROM alerts WHERE call_id = ?", (caller.call_sid,))[0]["id"]
    assert f"#A{alert_id}" in call_sms(fakes, caller)[0]["form"]["Body"]
    return caller, alert_id


def replies_to_owner(fakes) -> list[str]:
    return [
        m["form"]["Body"]
        for m in fakes.twilio.messages
        if m["form"]["To"] == OWNER and "Alert #" not in m["form"]["Body"]
    ]


async def test_an_owner_reply_naming_one_of_two_alerts_acknowledges_only_that_one(
    fakes, reply_server
):
    first_caller, first = await certain_alert(fakes, reply_server)
    _, second = await certain_alert(fakes, reply_server)

    def status(alert_id: int) -> str:
        return reply_server.rows("SELECT status FROM alerts WHERE id = ?", (alert_id,))[0]["status"]

    form = {
        "MessageSid": "SM" + "c" * 32,
        "From": OWNER,
        "To": fakes.twilio_phone_number,
        "Body": f"OK A{first}",
        "AccountSid": fakes.twilio.account_sid,
    }
    assert (await sms_webhook(reply_server, first_caller, form)).status_code == 200
    assert (status(first), status(second)) == ("acknowledged", "open")
    await first_caller.wait_for(
        lambda: replies_to_owner(fakes), timeout=5, what="reply to the owner"
    )
    reply = replies_to_owner(fakes)[0]
    assert f"Acknowledged alert A{first}" in reply and f"Still open: A{second}" in reply

    # A reply that names no alert acknowledges the most recent open one, and says so.
    form = form | {"MessageSid": "SM" + "d" * 32, "Body": "On my way"}
    assert (await sms_webhook(reply_server, first_caller, form)).status_code == 200
    assert status(second) == "acknowledged"
    await first_caller.wait_for(
        lambda: len(replies_to_owner(fakes)) == 2, timeout=5, what="second reply"
    )
    assert f"Acknowledged alert A{second}" in replies_to_owner(fakes)[1]


async def test_a_caller_who_hangs_up_on_a_possible_emergency_still_reaches_the_owner(
    fakes, triage_server
):
    fakes.openai.responder = ScriptedLLM([], default=Text("Is water coming in right now?"))
    caller = await answered_call(fakes, triage_server, [POSSIBLE])
    await first_line(caller)
    await caller.hangup()
    await caller.wait_for(lambda: call_sms(fakes, caller), timeout=5, what="alert at hang-up")
    assert "POSSIBLE EMERGENCY" in call_sms(fakes, caller)[0]["form"]["Body"]
    assert triage_rows(triage_server, caller)[0]["outcome"] == "unconfirmed"


async def test_a_negated_gas_mention_never_gets_the_evacuation_script(fakes, triage_server):
    said = "No gas smell or anything, I just want the boiler serviced."
    fakes.openai.responder = ScriptedLLM([], default=Text("Sure, when would suit you?"))
    caller = await answered_call(fakes, triage_server, [said])
    await first_line(caller)
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    spoken = " ".join(s["text"] for s in fakes.cartesia.synthesized)
    assert "when would suit you" in spoken
    assert "call 911" not in spoken and "leave the building" not in spoken
    assert call_sms(fakes, caller) == []
    await caller.hangup()
