"""Voicemail reaches the owner once, and Twilio's status callbacks are kept once.

Over the wire: signed callbacks posted to the real server as Twilio sends them (retries and
concurrent duplicates included), SMS read from the Twilio REST fake, rows from the database.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.config import DEFAULT_PROFILE
from bot.profile import load_profile
from bot.twilio_callbacks import recording_sid_of, voicemail_text
from tests import audio
from tests.fakes.caller import FakeTwilioCaller
from tests.fakes.openai import ScriptedLLM, Text

OWNERS = load_profile(DEFAULT_PROFILE).owner.phones
SINK = audio.FIXTURES["leaking_sink"]


# ---- pure ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form_sid", "url", "expected"),
    [
        ("RE1234", "", "RE1234"),
        ("", "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE99", "RE99"),
        ("", "https://api.twilio.com/Recordings/RE99/", "RE99"),
        ("not-a-sid", "https://x/RE77", "RE77"),
        ("", "https://x/recording.wav", None),
        ("RE' OR 1=1", "", None),
        ("", "", None),
    ],
)
def test_recording_sid(form_sid, url, expected):
    assert recording_sid_of(form_sid, url) == expected


def test_voicemail_text_names_the_caller_and_is_short():
    text = voicemail_text("Bristol Plumbing", "+15551230001", "12", "https://x/RE1")
    assert text == "Bristol Plumbing: voicemail from +15551230001 (12 s). Listen: https://x/RE1"
    assert "withheld" in voicemail_text("B", None, "", None)
    assert len(voicemail_text("B", "+1555", "9", "https://x/" + "a" * 2000)) == 600


# ---- over the wire -------------------------------------------------------------------------------


def new_caller(fakes, server, **kw) -> FakeTwilioCaller:
    return FakeTwilioCaller(
        server.url, server.public_base_url, fakes.twilio.auth_token, fakes.twilio.account_sid, **kw
    )


async def post_signed(caller: FakeTwilioCaller, server, path: str, form: dict[str, str]):
    signature = caller.sign(server.public_base_url + path, form)
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            server.url + path, data=form, headers={"X-Twilio-Signature": signature}
        )


def recording_form(caller: FakeTwilioCaller, recording_sid: str) -> dict[str, str]:
    """What Twilio posts to the `<Record>` action."""
    return {
        **caller.webhook_params(),
        "CallStatus": "in-progress",
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{caller.account_sid}"
        f"/Recordings/{recording_sid}",
        "RecordingDuration": "14",
        "Digits": "hangup",
    }


def recording_status_form(caller: FakeTwilioCaller, recording_sid: str, status: str):
    """What Twilio posts to `recordingStatusCallback` (no caller number in it)."""
    return {
        "AccountSid": caller.account_sid,
        "CallSid": caller.call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{caller.account_sid}"
        f"/Recordings/{recording_sid}",
        "RecordingStatus": status,
        "RecordingDuration": "14",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "RecordingStartTime": "Wed, 02 Dec 2026 15:00:00 +0000",
    }


def texts_about(fakes, recording_sid: str) -> list[dict]:
    return [m for m in fakes.twilio.messages if recording_sid in m["form"].get("Body", "")]


@pytest.fixture(scope="module")
def server(server_factory):
    return server_factory(test_page_enabled="false")


@pytest.mark.e2e
async def test_voicemail_is_kept_once_and_texted_once_whatever_twilio_repeats(fakes, server):
    caller = new_caller(fakes, server, from_number="+15551230042")
    assert (await caller.dial()).status_code == 200
    sid = "RE" + "a1" * 16

    # The action, retried three times at once, then once more, then the status callback twice.
    first = await asyncio.gather(
        *(
            post_signed(caller, server, "/twilio/recording", recording_form(caller, sid))
            for _ in range(3)
        )
    )
    again = await post_signed(caller, server, "/twilio/recording", recording_form(caller, sid))
    status = [
        await post_signed(
            caller, server, "/twilio/recording", recording_status_form(caller, sid, "completed")
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in [*first, again, *status]] == [200] * 6
    assert all("<Response" in r.text for r in [*first, again])

    messages = server.rows("SELECT * FROM messages WHERE call_id = ?", (caller.call_sid,))
    assert len(messages) == 1
    assert messages[0]["source"] == "voicemail" and messages[0]["callback"] == "+15551230042"
    assert messages[0]["recording_url"].endswith(sid)
    stored = server.rows("SELECT * FROM voicemails WHERE recording_sid = ?", (sid,))
    assert [(r["call_sid"], r["message_id"]) for r in stored] == [
        (caller.call_sid, messages[0]["id"])
    ]

    # One text per owner number, with the caller's number, reached Twilio.
    texts = texts_about(fakes, sid)
    assert sorted(t["form"]["To"] for t in texts) == sorted(OWNERS)
    assert all(t["status"] == 201 for t in texts)
    assert all("+15551230042" in t["form"]["Body"] for t in texts)
    outbox = server.rows(
        "SELECT status FROM outbox WHERE kind = 'voicemail' AND dedupe_key LIKE ?", (f"%{sid}%",)
    )
    assert [r["status"] for r in outbox] == ["sent"] * len(OWNERS)

    # The recording's status callback is kept once; the call record says why it ended.
    callbacks = server.rows(
        "SELECT kind, status, call_sid FROM twilio_status_callbacks WHERE sid = ?", (sid,)
    )
    assert [tuple(r) for r in callbacks] == [("recording", "completed", caller.call_sid)]
    call = server.rows("SELECT status, end_reason FROM calls WHERE id = ?", (caller.call_sid,))[0]
    assert (call["status"], call["end_reason"]) == ("FAILED", "voicemail_fallback")


@pytest.mark.e2e
async def test_status_callback_alone_still_reaches_the_owner(fakes, server):
    """The action request was lost: the recording's status callback keeps and texts it."""
    caller = new_caller(fakes, server, from_number="+15551230043")
    await caller.dial()
    sid = "RE" + "b2" * 16
    absent = await post_signed(
        caller,
        server,
        "/twilio/recording",
        recording_status_form(caller, "RE" + "c3" * 16, "absent"),
    )
    done = await post_signed(
        caller, server, "/twilio/recording", recording_status_form(caller, sid, "completed")
    )
    assert absent.status_code == 200 and done.status_code == 200
    messages = server.rows("SELECT * FROM messages WHERE call_id = ?", (caller.call_sid,))
    assert len(messages) == 1 and messages[0]["callback"] == "+15551230043"
    texts = texts_about(fakes, sid)
    assert len(texts) == len(OWNERS) and all("+15551230043" in t["form"]["Body"] for t in texts)
    statuses = server.rows(
        "SELECT status FROM twilio_status_callbacks WHERE kind = 'recording' AND call_sid = ?"
        " ORDER BY id",
        (caller.call_sid,),
    )
    assert [r["status"] for r in statuses] == ["absent", "completed"]


@pytest.mark.e2e
async def test_unsigned_or_unusable_recordings_write_nothing(fakes, server):
    caller = new_caller(fakes, server)
    await caller.dial()
    before = server.rows("SELECT COUNT(*) AS n FROM messages")[0]["n"]
    async with httpx.AsyncClient() as client:
        forged = await client.post(
            server.url + "/twilio/recording", data=recording_form(caller, "RE" + "d4" * 16)
        )
    no_sid = await post_signed(
        caller,
        server,
        "/twilio/recording",
        {**caller.webhook_params(), "RecordingUrl": "https://x/y"},
    )
    assert forged.status_code == 403 and no_sid.status_code == 400
    assert server.rows("SELECT COUNT(*) AS n FROM messages")[0]["n"] == before
    assert not texts_about(fakes, "RE" + "d4" * 16)


@pytest.mark.e2e
async def test_twiml_sends_recording_status_callbacks_to_the_recording_route(fakes, server):
    caller = new_caller(fakes, server)
    await caller.dial()
    recording = server.public_base_url + "/twilio/recording"
    assert f'recordingStatusCallback="{recording}"' in caller.twiml
    assert f'action="{recording}"' in caller.twiml


@pytest.mark.e2e
async def test_call_status_callbacks_are_kept_once_and_leave_a_live_call_alone(fakes, server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Still here and listening."))
    caller = new_caller(fakes, server)
    fakes.deepgram.scripts[caller.call_sid] = [SINK]
    await caller.dial()
    await caller.connect()
    await caller.wait_for_bot_audio(after_t=0, timeout=15, voiced_only=True)
    await caller.wait_for_bot_silence(quiet_s=0.5, timeout=30, voiced_only=True)

    def status_form(status: str, seq: int) -> dict[str, str]:
        return {
            **caller.webhook_params(),
            "CallStatus": status,
            "SequenceNumber": str(seq),
            "Timestamp": f"Wed, 02 Dec 2026 15:00:0{seq} +0000",
            **({"CallDuration": "31"} if status == "completed" else {}),
        }

    # Out of order and repeated, as Twilio may deliver them; "completed" while the call is live.
    sent = [("completed", 3), ("ringing", 0), ("in-progress", 1), ("completed", 3), ("ringing", 0)]
    for status, seq in sent:
        response = await post_signed(
            caller, server, "/twilio/call-status", status_form(status, seq)
        )
        assert response.status_code == 200
    rows = server.rows(
        "SELECT status, detail FROM twilio_status_callbacks WHERE kind = 'call' AND sid = ?"
        " ORDER BY id",
        (caller.call_sid,),
    )
    assert [r["status"] for r in rows] == ["completed", "ringing", "in-progress"]
    assert '"CallDuration": "31"' in rows[0]["detail"]

    # The call goes on: still ACTIVE, the caller is still heard and answered.
    assert (
        server.rows("SELECT status FROM calls WHERE id = ?", (caller.call_sid,))[0]["status"]
        == "ACTIVE"
    )
    spoken = await caller.say(audio.load("leaking_sink"))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    await caller.hangup()
    for _ in range(150):
        row = server.rows("SELECT status, end_reason FROM calls WHERE id = ?", (caller.call_sid,))[
            0
        ]
        if row["status"] != "ACTIVE":
            break
        await asyncio.sleep(0.1)
    assert (row["status"], row["end_reason"]) == ("COMPLETED", "caller_hung_up")

    # Unsigned or without a status: refused, nothing kept.
    async with httpx.AsyncClient() as client:
        forged = await client.post(server.url + "/twilio/call-status", data=status_form("busy", 9))
    bad = await post_signed(
        caller,
        server,
        "/twilio/call-status",
        {"CallSid": caller.call_sid, "AccountSid": caller.webhook_params()["AccountSid"]},
    )
    assert forged.status_code == 403 and bad.status_code == 400
    assert (
        len(server.rows("SELECT * FROM twilio_status_callbacks WHERE sid = ?", (caller.call_sid,)))
        == 3
    )
