"""No dead air when a speech provider fails (reliability.md §7 #23 and #24), and the LLM stall race.

Over the wire: the real server, the fake Twilio caller, and provider fakes that refuse, reset or
go quiet. A dead TTS, or a Deepgram that does not come back, must redirect the live call through
Twilio's REST API to TwiML that apologises and records a voicemail, text the owner and close the
record FAILED with the reason; a Deepgram reset must cost the caller nothing.

The silence each fallback costs the caller and the Deepgram reconnect gap are printed
(`pytest -s`) as measurements, not asserted tightly.
"""

from __future__ import annotations

import asyncio
import json
from xml.etree import ElementTree

import httpx
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from tests import audio
from tests.fakes._base import now
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall
from tests.server_proc import free_port
from tests.test_call_path import answered_call, call_row, new_caller, turns, wait_for_status

pytestmark = pytest.mark.e2e

SINK = audio.FIXTURES["leaking_sink"]
NAME = audio.FIXTURES["my_name"]
BYE = audio.FIXTURES["never_mind"]
OWNER = "+18605550111"  # bristol_plumbing.yaml
REPLY = "Sure, what is the address for the visit?"
FILLER = "Sorry, just one moment."
PAGE_TOKEN = "page-token-for-outage-tests"  # the test page's bearer token, where it needs one


@pytest.fixture(scope="module")
def dead_tts_server(server_factory):
    """Cartesia's address has nothing listening; the test page is on (its calls have no Twilio)."""
    return server_factory(
        cartesia_base_url=f"ws://127.0.0.1:{free_port()}",
        test_page_enabled="true",
        test_page_token=PAGE_TOKEN,
    )


@pytest.fixture(scope="module")
def quick_server(server_factory):
    """Short STT and LLM deadlines, so the tests that wait for them stay short."""
    return server_factory(stt_reconnect_secs=2, llm_stall_secs=1.0, llm_give_up_secs=2.0)


def redirects(fakes, call_sid: str) -> list[dict]:
    return [
        u for u in fakes.twilio.call_updates if u["call_sid"] == call_sid and "Twiml" in u["form"]
    ]


async def wait_for_redirect(fakes, caller, within: float) -> dict:
    await caller.wait_for(
        lambda: bool(redirects(fakes, caller.call_sid)), within, "the call redirect to voicemail"
    )
    return redirects(fakes, caller.call_sid)[0]


def assert_voicemail_twiml(update: dict, server) -> None:
    root = ElementTree.fromstring(update["form"]["Twiml"])
    verbs = [child.tag for child in root]
    assert verbs[:2] == ["Say", "Record"], verbs
    assert "trouble" in (root[0].text or "")
    assert root[1].get("action") == f"{server.public_base_url}/twilio/recording"
    assert update["status"] == 200


async def assert_failed_over(fakes, server, caller, reason: str) -> None:
    row = await wait_for_status(server, caller.call_sid, "FAILED")
    assert row["end_reason"] == reason
    await caller.wait_for(lambda: caller.closed, 10, "the media stream closing")

    def texts_to_owner() -> list[dict]:
        return [m for m in fakes.twilio.messages if m["form"]["To"] == OWNER]

    # The text goes out through the outbox beside the call's ending, not before it.
    await caller.wait_for(lambda: bool(texts_to_owner()), 5, "the owner's text")
    await asyncio.sleep(0.5)  # and only one: a second would come right behind the first
    owner_sms = texts_to_owner()
    assert len(owner_sms) == 1, owner_sms
    assert caller.from_number in owner_sms[0]["form"]["Body"]
    assert "voicemail" in owner_sms[0]["form"]["Body"]
    # A redirect, never a hang-up: the caller must reach the voicemail.
    updates = [u for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid]
    assert not [u for u in updates if u["form"].get("Status") == "completed"]
    audit = server.rows(
        "SELECT detail FROM audit_log WHERE call_id = ? AND action = 'provider.outage'",
        (caller.call_sid,),
    )
    assert [json.loads(r["detail"]) for r in audit] == [{"reason": reason, "redirected": True}]


# ---- #24: TTS failure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure", ["port_closed", "rejects_the_key", "accepts_but_sends_no_audio"]
)
async def test_tts_down_at_call_start_sends_the_caller_to_voicemail(
    fakes, server_factory, dead_tts_server, failure
):
    if failure == "port_closed":
        server = dead_tts_server
    else:  # a fresh server: nothing in its phrase cache, the greeting needs the TTS
        server = server_factory()
        if failure == "rejects_the_key":
            fakes.cartesia.refuse_status = 401
            fakes.cartesia.refuse_until = now() + 60
        else:
            fakes.cartesia.silent = True
    caller = new_caller(fakes, server)
    await caller.dial()
    await caller.connect()
    update = await wait_for_redirect(fakes, caller, within=15)
    silence = update["t"] - caller.started_t
    print(f"\nTTS {failure} at call start: {silence:.2f} s of silence before the fallback redirect")
    assert silence < 8
    assert caller.first_media_t(voiced_only=True) is None  # nothing was ever spoken
    assert_voicemail_twiml(update, server)
    await assert_failed_over(fakes, server, caller, "tts_unavailable")


@pytest.mark.parametrize("failure", ["stops_sending_audio", "socket_reset_and_refused"])
async def test_tts_dying_mid_call_sends_the_caller_to_voicemail(fakes, phone_server, failure):
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    caller = await answered_call(fakes, phone_server, [SINK])
    failed_t = now()
    if failure == "stops_sending_audio":
        fakes.cartesia.silent = True
    else:
        fakes.call(fakes.cartesia.drop_connections(refuse_secs=60))
    said = asyncio.create_task(caller.say(audio.load("leaking_sink")))
    update = await wait_for_redirect(fakes, caller, within=20)
    spoken = await said
    after_caller = update["t"] - (spoken["t_last_voiced_frame"] or spoken["t_end"])
    print(
        f"\nTTS {failure} mid-call: fallback redirect {update['t'] - failed_t:.2f} s after the "
        f"TTS failed, {after_caller:.2f} s after the caller stopped speaking"
    )
    assert update["t"] - failed_t < 10
    assert caller.first_media_t(voiced_only=True) is not None  # the greeting played
    assert not [r for r in caller.events("media") if r["voiced"] and r["t"] > failed_t + 0.5]
    assert_voicemail_twiml(update, phone_server)
    await assert_failed_over(fakes, phone_server, caller, "tts_unavailable")


async def test_a_goodbye_the_tts_cannot_speak_does_not_hold_the_line(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM(
        [Rule(when_user_contains="never mind", reply=ToolCall("end_call", {}))],
        default=Text(REPLY),
    )
    caller = await answered_call(fakes, phone_server, [BYE])
    fakes.cartesia.silent = True
    spoken = await caller.say(audio.load("never_mind"))
    await caller.wait_for(lambda: bool(fakes.twilio.hangups()), 15, "the hang-up")
    waited = fakes.twilio.hangups()[0]["t"] - spoken["t_last_voiced_frame"]
    print(f"\nunspeakable goodbye: hang-up {waited:.2f} s after the caller stopped speaking")
    assert waited < 10  # not the 20 s grace a stuck goodbye otherwise gets
    row = await wait_for_status(phone_server, caller.call_sid, "COMPLETED")
    assert row["end_reason"] == "bot_ended"  # the bot's decision to end the call stands
    assert not redirects(fakes, caller.call_sid)


# ---- #23: Deepgram reset mid-call ----------------------------------------------------------------


def _dg_conns(fakes, call_sid: str) -> list[dict]:
    return [c for c in fakes.deepgram.connections if c["tag"] == call_sid]


async def test_deepgram_reset_mid_call_reconnects_at_once_and_hears_the_caller(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    caller = await answered_call(fakes, phone_server, [SINK])
    assert len(_dg_conns(fakes, caller.call_sid)) == 1
    fakes.call(fakes.deepgram.drop_connections())
    dropped_t = fakes.deepgram.drops[-1]["t"]
    await asyncio.sleep(1.0)  # the caller answers a second after the drop
    await caller.wait_for(lambda: len(_dg_conns(fakes, caller.call_sid)) == 2, 3, "a new socket")
    gap = _dg_conns(fakes, caller.call_sid)[1]["t"] - dropped_t
    print(f"\nDeepgram reset: new socket {gap * 1000:.0f} ms after the drop")
    assert gap < 1.0
    await caller.say(audio.load("leaking_sink"))
    await caller.wait_for(lambda: REPLY in fakes.cartesia.spoken_texts(), 15, "the bot's answer")
    new_conn = _dg_conns(fakes, caller.call_sid)[1]["conn_id"]
    sent = [r for r in fakes.deepgram.transcripts_sent if r["tag"] == caller.call_sid]
    assert [(r["conn_id"], r["text"]) for r in sent] == [(new_conn, SINK)]
    await caller.wait_for(
        lambda: ("caller", SINK, 0) in turns(phone_server, caller.call_sid), 10, "the turn row"
    )
    assert call_row(phone_server, caller.call_sid)["status"] == "ACTIVE"
    assert not redirects(fakes, caller.call_sid)
    await caller.hangup()


async def test_caller_audio_during_a_deepgram_outage_is_replayed_on_the_new_socket(
    fakes, phone_server
):
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    caller = await answered_call(fakes, phone_server, [SINK])
    fakes.call(fakes.deepgram.drop_connections(refuse_secs=1.5))  # reconnects refused meanwhile
    dropped_t = fakes.deepgram.drops[-1]["t"]
    said = asyncio.create_task(caller.say(audio.load("leaking_sink")))  # starts in the outage
    await caller.wait_for(lambda: len(_dg_conns(fakes, caller.call_sid)) == 2, 6, "a new socket")
    second = _dg_conns(fakes, caller.call_sid)[1]
    print(f"\nDeepgram refusing 1.5 s: new socket {second['t'] - dropped_t:.2f} s after the drop")
    assert fakes.deepgram.refused  # the server did try during the outage
    spoken = await said
    assert spoken["t_start"] < second["t"]  # the caller began speaking while Deepgram was down
    await caller.wait_for(lambda: REPLY in fakes.cartesia.spoken_texts(), 15, "the bot's answer")
    # The caller's audio from the drop on reached the new socket, not only what came after it:
    # without the replay the new socket would be short by the whole outage (1.5 s and more).
    received_s = second["audio_bytes"] / (2 * second["sample_rate"])
    elapsed_s = now() - dropped_t
    print(f"audio on the new socket: {received_s:.2f} s; time since the drop: {elapsed_s:.2f} s")
    assert received_s >= elapsed_s - 0.5
    sent = [r for r in fakes.deepgram.transcripts_sent if r["tag"] == caller.call_sid]
    assert [(r["conn_id"], r["text"]) for r in sent] == [(second["conn_id"], SINK)]
    assert call_row(phone_server, caller.call_sid)["status"] == "ACTIVE"
    await caller.hangup()


async def test_deepgram_that_never_comes_back_sends_the_caller_to_voicemail(fakes, quick_server):
    server = quick_server
    caller = await answered_call(fakes, server, [SINK])
    fakes.call(fakes.deepgram.drop_connections(refuse_secs=60))
    dropped_t = fakes.deepgram.drops[-1]["t"]
    update = await wait_for_redirect(fakes, caller, within=10)
    waited = update["t"] - dropped_t
    print(f"\nDeepgram gone (STT_RECONNECT_SECS=2): redirect {waited:.2f} s after the drop")
    assert 2 <= update["t"] - dropped_t < 5
    assert_voicemail_twiml(update, server)
    await assert_failed_over(fakes, server, caller, "stt_unavailable")


# ---- the LLM stall timer cannot outlive a reply that already started -------------------------------


async def test_instant_llm_reply_never_gets_the_stall_filler(fakes, quick_server):
    server = quick_server
    fakes.openai.first_token_latency_s = 0.0
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    caller = await answered_call(fakes, server, [SINK, NAME])
    for name in ("leaking_sink", "my_name"):
        await caller.say(audio.load(name))
        await caller.wait_for_bot_audio(
            caller.utterances[-1]["t_end"], timeout=15, voiced_only=True
        )
        await caller.wait_for_bot_silence(quiet_s=0.6, timeout=15, voiced_only=True)
    await asyncio.sleep(2.5)  # past both the filler and the give-up deadlines
    assert FILLER not in fakes.cartesia.spoken_texts()
    bot = [text for role, text, _ in turns(server, caller.call_sid) if role == "bot"]
    assert bot[-2:] == [REPLY, REPLY] and not any("moment" in t or "trouble" in t for t in bot)
    assert call_row(server, caller.call_sid)["status"] == "ACTIVE"
    await caller.hangup()
    row = await wait_for_status(server, caller.call_sid, "COMPLETED")
    assert row["end_reason"] == "caller_hung_up"


# ---- the browser test page has no Twilio: the call just ends, and says why ------------------------


async def test_tts_down_on_a_test_page_call_ends_it_as_tts_unavailable(fakes, dead_tts_server):
    server = dead_tts_server
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())  # a microphone that sends silence
    try:
        await pc.setLocalDescription(await pc.createOffer())
        auth = {"Authorization": f"Bearer {PAGE_TOKEN}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=10, headers=auth) as http:
            offer = {"sdp": pc.localDescription.sdp, "type": "offer", "request_data": {}}
            answer = (await http.post("/api/offer", json=offer)).json()
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        for _ in range(150):
            rows = server.rows("SELECT status, end_reason FROM calls WHERE transport = 'webrtc'")
            if rows and rows[0]["status"] != "ACTIVE":
                break
            await asyncio.sleep(0.1)
        assert [tuple(r) for r in rows] == [("FAILED", "tts_unavailable")]
        assert fakes.twilio.call_updates == [] and fakes.twilio.messages == []
    finally:
        await pc.close()


async def test_deepgram_that_never_answers_the_handshake_at_call_start(fakes, quick_server):
    fakes.deepgram.hang_until = now() + 30  # TCP accepted, the WebSocket upgrade never answered
    caller = new_caller(fakes, quick_server)
    await caller.dial()
    await caller.connect()
    update = await wait_for_redirect(fakes, caller, within=15)
    print(f"\nDeepgram hanging at call start: redirect {update['t'] - caller.started_t:.2f} s in")
    assert update["t"] - caller.started_t < 6
    assert_voicemail_twiml(update, quick_server)
    await assert_failed_over(fakes, quick_server, caller, "stt_unavailable")
