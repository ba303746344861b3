"""Emergencies: detected in the caller's words, the owner texted at once, escalated until answered."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.config import DEFAULT_PROFILE
from bot.profile import load_profile
from tests import audio
from tests.fakes.openai import ScriptedLLM, Text
from tests.test_call_path import answered_call, call_row

PROFILE = load_profile(DEFAULT_PROFILE)
OWNER = PROFILE.owner.phones[0]
BACKUP = PROFILE.owner.backup_phones[0]
BURST = "Help, a pipe burst and the basement is flooding."
GAS = "I think I smell gas in the kitchen."


@pytest.fixture(scope="module")
def alert_server(server_factory):
    return server_factory(emergency_ack_secs=3, escalation_check_secs=0.3)


def owner_sms(fakes) -> list[dict]:
    return [m for m in fakes.twilio.messages if m["form"]["To"] == OWNER and m["status"] == 201]


async def emergency_call(fakes, server, transcript: str):
    """A caller reports an emergency; the scripted LLM never calls flag_emergency."""
    fakes.openai.responder = ScriptedLLM([], default=Text("Okay. What is your address?"))
    caller = await answered_call(fakes, server, [transcript])
    await caller.say(audio.load("leaking_sink"))
    await caller.wait_for(lambda: owner_sms(fakes), timeout=10, what="owner alert SMS")
    return caller


def escalations(fakes, caller) -> list[dict]:
    """Outbound calls placed about this caller's emergency (the summary names the call)."""
    return [
        c for c in fakes.twilio.calls_created if caller.call_sid[-8:] in c["form"].get("Twiml", "")
    ]


def spoken_text(fakes) -> str:
    return " ".join(s["text"] for s in fakes.cartesia.synthesized)


async def sms_webhook(server, caller, form: dict) -> httpx.Response:
    signature = caller.sign(server.public_base_url + "/twilio/sms", form)
    async with httpx.AsyncClient() as client:
        return await client.post(
            server.url + "/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
        )


async def test_emergency_words_alert_the_owner_within_two_seconds(fakes, alert_server):
    caller = await emergency_call(fakes, alert_server, BURST)
    heard = [t for t in fakes.deepgram.transcripts_sent if t["text"] == BURST][0]["t"]
    sms = owner_sms(fakes)
    assert len(sms) == 1
    assert sms[0]["t"] - heard < 2.0, f"owner texted {sms[0]['t'] - heard:.2f} s after the words"
    assert "EMERGENCY" in sms[0]["form"]["Body"] and "burst" in sms[0]["form"]["Body"]
    assert caller.from_number in sms[0]["form"]["Body"]
    # The caller hears the emergency script, and the LLM is told to follow it.
    await caller.wait_for(
        lambda: "turn off the main water valve" in spoken_text(fakes),
        timeout=10,
        what="emergency script",
    )
    await caller.wait_for(
        lambda: any("EMERGENCY" in str(r["body"]["messages"]) for r in fakes.openai.requests),
        timeout=10,
        what="LLM told about the emergency",
    )
    assert not any(
        m.get("tool_calls") for r in fakes.openai.requests for m in r["body"]["messages"]
    ), "the LLM never called a tool; the alert came from the detector"
    assert "emergency" in call_row(alert_server, caller.call_sid)["flags"]

    # The row turns "sent" once Twilio's answer is back; the alert runs beside the call.
    def outbox():
        rows = alert_server.rows(
            "SELECT kind, status FROM outbox WHERE call_id = ?", (caller.call_sid,)
        )
        return [tuple(r) for r in rows]

    await caller.wait_for(
        lambda: outbox() != [("emergency_alert", "sending")], timeout=5, what="SMS result"
    )
    assert outbox() == [("emergency_alert", "sent")]
    await caller.hangup()


async def test_unanswered_alert_phones_the_owner_then_the_backup(fakes, alert_server):
    caller = await emergency_call(fakes, alert_server, BURST)
    texted = owner_sms(fakes)[0]["t"]
    await caller.hangup()
    await caller.wait_for(
        lambda: len(escalations(fakes, caller)) >= 2, timeout=15, what="escalation calls"
    )
    owner_call, backup_call = escalations(fakes, caller)[:2]
    assert owner_call["form"]["To"] == OWNER and backup_call["form"]["To"] == BACKUP
    assert "Emergency alert" in owner_call["form"]["Twiml"]
    # Their progress comes back as call status callbacks, which the server keeps.
    assert (
        owner_call["form"]["StatusCallback"] == alert_server.public_base_url + "/twilio/call-status"
    )
    assert owner_call["t"] - texted >= 2.5  # waited for an acknowledgement first
    await asyncio.sleep(4)
    assert len(escalations(fakes, caller)) == 2, "escalation must stop after the backup"


async def test_owner_reply_stops_the_escalation_and_is_processed_once(fakes, alert_server):
    caller = await emergency_call(fakes, alert_server, GAS)
    # Gas: get to safety and call the emergency number.
    await caller.wait_for(
        lambda: "call 911" in spoken_text(fakes), timeout=10, what="safety script"
    )
    form = {
        "MessageSid": "SM" + "a" * 32,
        "From": OWNER,
        "To": fakes.twilio_phone_number,
        "Body": "On my way",
        "AccountSid": fakes.twilio.account_sid,
    }
    replies = [await sms_webhook(alert_server, caller, form) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 200]
    await asyncio.sleep(4.5)  # longer than the acknowledgement wait
    assert escalations(fakes, caller) == []
    rows = alert_server.rows(
        "SELECT status, acknowledged_by FROM alerts WHERE call_id = ?", (caller.call_sid,)
    )
    assert tuple(rows[0]) == ("acknowledged", OWNER)
    assert (
        len(
            alert_server.rows(
                "SELECT * FROM inbound_sms WHERE message_sid = ?", (form["MessageSid"],)
            )
        )
        == 1
    )
    await caller.hangup()


async def test_unsigned_sms_webhook_is_rejected(fakes, alert_server):
    async with httpx.AsyncClient() as client:
        response = await client.post(
            alert_server.url + "/twilio/sms",
            data={"MessageSid": "SM" + "b" * 32, "From": OWNER, "Body": "ok"},
        )
    assert response.status_code == 403
    assert not alert_server.rows(
        "SELECT * FROM inbound_sms WHERE message_sid = ?", ("SM" + "b" * 32,)
    )
