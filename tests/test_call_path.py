"""The call path, end to end and over the wire.

The real server runs in its own process; Deepgram, OpenAI, Cartesia and Twilio REST are loopback
fakes speaking each provider's wire protocol; a fake caller plays Twilio Media Streams with real
speech paced in real time. Every assertion is on what crossed a socket or landed in the database.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests import audio
from tests.fakes.caller import FakeTwilioCaller, dominant_freq
from tests.fakes.cartesia import SECS_PER_WORD, hashed_freq
from tests.fakes.openai import Rule, ScriptedLLM, Text, ToolCall, last_user_text, tool_results
from tests.server_proc import METRICS_HEADERS

BOOK = audio.FIXTURES["book_tomorrow"]
NAME = audio.FIXTURES["my_name"]
SINK = audio.FIXTURES["leaking_sink"]
BYE = audio.FIXTURES["never_mind"]


def new_caller(fakes, server, **kw) -> FakeTwilioCaller:
    return FakeTwilioCaller(
        server.url, server.public_base_url, fakes.twilio.auth_token, fakes.twilio.account_sid, **kw
    )


async def answered_call(fakes, server, transcripts: list[str], **kw) -> FakeTwilioCaller:
    """Dial, connect, and wait for the greeting to finish playing."""
    caller = new_caller(fakes, server, **kw)
    fakes.deepgram.scripts[caller.call_sid] = transcripts
    response = await caller.dial()
    assert response.status_code == 200, response.text
    await caller.connect()
    await caller.wait_for_bot_audio(after_t=0, timeout=15, voiced_only=True)
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=30, voiced_only=True)
    return caller


def call_row(server, call_sid: str):
    rows = server.rows("SELECT * FROM calls WHERE call_sid = ?", (call_sid,))
    return rows[0] if rows else None


async def wait_for_status(server, call_sid: str, status: str, within: float = 15.0):
    for _ in range(int(within / 0.1)):
        row = call_row(server, call_sid)
        if row is not None and row["status"] == status:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"call {call_sid} never reached {status}: {dict(call_row(server, call_sid) or {})}"
    )


def turns(server, call_id: str) -> list[tuple[str, str, int]]:
    return [
        (r["role"], r["text"], r["interrupted"])
        for r in server.rows("SELECT * FROM turns WHERE call_id = ? ORDER BY seq", (call_id,))
    ]


def requests_for(fakes, text: str) -> list[dict]:
    """LLM requests whose conversation contains `text` (tells concurrent calls apart)."""
    return [r for r in fakes.openai.requests if text in json.dumps(r["body"]["messages"])]


# ---- 1, 2, 3, 4, 6, 7: a whole conversation ------------------------------------------------------


async def test_conversation_end_to_end(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(when_user_contains="book me in", reply=ToolCall("current_time", {})),
            Rule(after_tool="current_time", reply=Text("Sure. Can I have your name, please?")),
            Rule(when_user_contains="never mind", reply=ToolCall("end_call", {})),
        ],
        default=Text("Sorry, could you say that again?"),
    )
    caller = await answered_call(fakes, phone_server, [BOOK, BYE])

    # 1. The greeting reached the Twilio socket as μ-law media carrying the TTS audio (440 Hz tone).
    greeting = caller.bot_audio()
    assert len(greeting) > 8000, "expected at least a second of greeting audio"
    assert abs(dominant_freq(greeting) - 440) < 25
    assert all(r["msg"]["streamSid"] == caller.stream_sid for r in caller.events("media"))

    spoken = await caller.say(audio.load("book_tomorrow"))
    reply_t = await caller.wait_for_bot_audio(
        spoken["t_last_voiced_frame"], timeout=15, voiced_only=True
    )
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)

    # 2. The caller's audio reached the fake STT (8 kHz linear16, tagged with the call) and the
    #    transcript reached the LLM as the user's words.
    stt = [c for c in fakes.deepgram.connections if c["query"].get("tag") == caller.call_sid]
    assert len(stt) == 1
    assert stt[0]["query"]["sample_rate"] == "8000" and stt[0]["query"]["encoding"] == "linear16"
    assert stt[0]["authorization"] == "Token test-deepgram"
    assert any(
        m["type"] == "Finalize"
        for m in fakes.deepgram.messages
        if m["conn_id"] == stt[0]["conn_id"]
    )
    first = requests_for(fakes, BOOK)[0]
    assert last_user_text(first["body"]) == BOOK
    assert first["authorization"] == "Bearer test-openai"
    assert {"current_time", "end_call"} <= {t["function"]["name"] for t in first["body"]["tools"]}

    # 3. The scripted tool call ran, and its result went back to the LLM in the next request.
    second = requests_for(fakes, BOOK)[1]
    results = tool_results(second["body"])
    assert len(results) == 1 and json.loads(results[0]["content"])["ok"] is True
    assert json.loads(results[0]["content"])["timezone"] == "America/New_York"

    # 4. The reply came back as bot media after the caller stopped talking.
    assert reply_t > spoken["t_last_voiced_frame"]
    assert len(caller.bot_audio(after_t=reply_t)) > 4000

    # 6. end_call: goodbye, then the hang-up reaches Twilio's REST API, then the socket closes.
    spoken = await caller.say(audio.load("never_mind"))
    await caller.wait_for(lambda: caller.closed, timeout=20, what="server closing the stream")
    hangups = [u for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid]
    assert [u["form"] for u in hangups] == [{"Status": "completed"}]
    assert hangups[0]["account_sid"] == fakes.twilio.account_sid
    assert len(caller.bot_audio(after_t=spoken["t_start"])) > 8000, "no goodbye audio"

    # 7. The database holds the call, its outcome and every turn, in order.
    row = await wait_for_status(phone_server, caller.call_sid, "COMPLETED")
    assert row["end_reason"] == "bot_ended" and row["caller"] == caller.from_number
    assert row["connected_at"] and row["ended_at"]
    assert [(role, text) for role, text, _ in turns(phone_server, caller.call_sid)] == [
        ("bot", phone_server_greeting()),
        ("caller", BOOK),
        ("bot", "Sure. Can I have your name, please?"),
        ("caller", BYE),
        ("bot", "Thanks for calling Bristol Plumbing. Goodbye!"),
    ]
    tools = phone_server.rows(
        "SELECT name, ok FROM tool_calls WHERE call_id = ?", (caller.call_sid,)
    )
    assert [(t["name"], t["ok"]) for t in tools] == [("current_time", 1), ("end_call", 1)]
    # Each reply's latency waterfall is stored with the call: greeting plus two replies.
    latency = phone_server.rows("SELECT * FROM turn_latency WHERE call_id = ?", (caller.call_sid,))
    assert len(latency) >= 2
    replies = [json.loads(r["breakdown"]) for r in latency if r["measured_from"] == "user_silence"]
    assert replies and all(r["total_ms"] > 0 and "llm_ttfb_ms" in r for r in replies)

    # No caller number or words in the server's log.
    log = phone_server.log()
    assert caller.from_number not in log and BOOK not in log and BYE not in log


def phone_server_greeting() -> str:
    from bot.config import DEFAULT_PROFILE
    from bot.profile import load_profile

    return load_profile(DEFAULT_PROFILE).greeting


# ---- 5: barge-in ----------------------------------------------------------------------------------

LONG_ANSWER = (
    "We can certainly help with that. Our plumbers cover Bristol, Plainville, Southington, "
    "Terryville, Burlington and Farmington, and we usually have openings within a day or two. "
    "A standard repair visit takes about an hour, and there is a service call fee which is waived "
    "if you go ahead with the repair. Before I look for a time, could I take your name?"
)


async def test_bot_audio_is_sent_200_ms_ahead_then_at_real_time(fakes, phone_server):
    """Twilio holds the first 200 ms of each utterance at once, then audio keeps that lead."""
    caller = await answered_call(fakes, phone_server, [BOOK])
    greeting = [r for r in caller.events("media") if r["t"] < caller.events("media")[0]["t"] + 10]
    t0, secs = greeting[0]["t"], [len(r["audio"]) / 8000 for r in greeting]
    sent_in_first_100ms = sum(d for r, d in zip(greeting, secs, strict=True) if r["t"] - t0 < 0.1)
    assert sent_in_first_100ms >= 0.2, f"only {sent_in_first_100ms:.2f} s of audio sent up front"
    # Paced, not dumped: the last frame leaves about its playout time minus the lead after the first.
    audio_secs = sum(secs)
    assert audio_secs > 1.0
    assert greeting[-1]["t"] - t0 >= audio_secs - 0.2 - 0.1 - secs[-1]
    await caller.hangup()


async def test_barge_in_clears_twilio_and_keeps_only_what_was_heard(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM(
        [
            Rule(when_user_contains="book me in", reply=Text(LONG_ANSWER)),
            Rule(when_user_contains="john smith", reply=Text("Thanks John.")),
        ],
    )
    caller = await answered_call(fakes, phone_server, [BOOK, NAME])
    spoken = await caller.say(audio.load("book_tomorrow"))
    answer_t = await caller.wait_for_bot_audio(
        spoken["t_last_voiced_frame"], timeout=15, voiced_only=True
    )
    await asyncio.sleep(1.5)  # let the long answer play for a while, then talk over it
    interrupt = await caller.say(audio.load("my_name"))

    clears = [c for c in caller.clears() if c["t"] > answer_t]
    assert clears, "no clear was sent when the caller talked over the bot"
    assert clears[0]["msg"] == {"event": "clear", "streamSid": caller.stream_sid}
    assert clears[0]["t"] < interrupt["t_end"], "clear came only after the caller finished"

    await caller.wait_for(
        lambda: len(requests_for(fakes, NAME)) >= 1, timeout=15, what="LLM request after barge-in"
    )
    await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
    await caller.hangup()
    await wait_for_status(phone_server, caller.call_sid, "COMPLETED")

    # The rest of the answer never reached the caller: far less audio than the whole answer.
    whole_answer_secs = SECS_PER_WORD * len(LONG_ANSWER.split()) + 0.1
    voiced_after = sum(
        len(r["audio"]) for r in caller.events("media") if r["voiced"] and r["t"] > answer_t
    )
    assert voiced_after / 8000 < 0.6 * whole_answer_secs

    bot_turns = [
        (text, interrupted)
        for role, text, interrupted in turns(phone_server, caller.call_sid)
        if role == "bot"
    ]
    heard, interrupted = bot_turns[1]
    assert interrupted == 1
    assert LONG_ANSWER.startswith(heard.rstrip(".,")) and len(heard) < len(LONG_ANSWER) * 0.8
    # The next LLM request carries only the part of the answer the caller heard.
    history = requests_for(fakes, NAME)[0]["body"]["messages"]
    assistant = [m["content"] for m in history if m["role"] == "assistant" and m.get("content")]
    assert LONG_ANSWER not in assistant and any(heard.split()[-1] in a for a in assistant)


# ---- caller hangs up ----------------------------------------------------------------------------


async def test_caller_hang_up_closes_the_record(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Of course, what's your name?"))
    caller = await answered_call(fakes, phone_server, [SINK])
    spoken = await caller.say(audio.load("leaking_sink"))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    await caller.hangup()
    row = await wait_for_status(phone_server, caller.call_sid, "COMPLETED")
    assert row["end_reason"] == "caller_hung_up"
    assert ("caller", SINK, 0) in turns(phone_server, caller.call_sid)
    assert not [u for u in fakes.twilio.call_updates if u["call_sid"] == caller.call_sid]


async def test_hang_up_during_greeting_is_abandoned(fakes, phone_server):
    caller = new_caller(fakes, phone_server)
    await caller.dial()
    await caller.connect()
    await caller.wait_for_bot_audio(after_t=0, timeout=15)
    await caller.hangup()
    row = await wait_for_status(phone_server, caller.call_sid, "ABANDONED")
    assert row["end_reason"] == "caller_hung_up"


# ---- 8: forged webhooks and stream tokens -------------------------------------------------------


async def test_forged_or_missing_signature_is_rejected_and_writes_nothing(fakes, phone_server):
    attempts = []
    caller = new_caller(fakes, phone_server)
    attempts.append(await caller.dial(sign=False))
    attempts.append(await caller.dial(signature="bm90IGEgc2lnbmF0dXJl"))
    # Signed for another URL (e.g. a proxy-rewritten host) or with a tampered field.
    params = caller.webhook_params()
    wrong_url = caller.sign("http://127.0.0.1/twilio/voice", params)
    attempts.append(await caller.dial(signature=wrong_url))
    good = caller.sign(phone_server.public_base_url + "/twilio/voice", params)
    attempts.append(await caller.dial(signature=good, extra_params={"From": "+15559999999"}))
    assert [r.status_code for r in attempts] == [403, 403, 403, 403]
    assert all("<Connect" not in r.text for r in attempts)
    assert call_row(phone_server, caller.call_sid) is None
    assert not phone_server.rows(
        "SELECT * FROM stream_tokens WHERE call_sid = ?", (caller.call_sid,)
    )


async def _rejected(caller: FakeTwilioCaller) -> bool:
    await caller.wait_for(lambda: caller.closed, timeout=10, what="stream rejection")
    return caller.close_code == 1008


async def test_stream_needs_a_valid_unused_token(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Hello."))
    first = new_caller(fakes, phone_server)
    await first.dial()
    token = first.stream_params["token"]
    await first.connect()
    await first.wait_for_bot_audio(after_t=0, timeout=15)
    stt_before = len(fakes.deepgram.connections)

    # Replaying the same token (same CallSid) on a second socket.
    replay = new_caller(fakes, phone_server, call_sid=first.call_sid)
    await replay.connect(url=first.stream_url, params=first.stream_params)
    assert await _rejected(replay)
    # No token, a token for another call, and a token for a call that never rang.
    other = new_caller(fakes, phone_server)
    await other.dial()
    no_token = new_caller(fakes, phone_server, call_sid=other.call_sid)
    await no_token.connect(url=other.stream_url, params={"from_number": "+15551230001"})
    assert await _rejected(no_token)
    stolen = new_caller(fakes, phone_server, call_sid=other.call_sid)
    await stolen.connect(url=other.stream_url, params={**other.stream_params, "token": token})
    assert await _rejected(stolen)
    unknown = new_caller(fakes, phone_server)
    await unknown.connect(url=other.stream_url, params={"token": token})
    assert await _rejected(unknown)
    # The upgrade itself must carry Twilio's signature: an unsigned one is refused before accept.
    unsigned = new_caller(fakes, phone_server, call_sid=other.call_sid)
    with pytest.raises(Exception, match="403|1008"):
        await unsigned.connect(url=other.stream_url, params=other.stream_params, sign=False)

    # None of them started a pipeline: no new STT session, and no media sent to them.
    assert len(fakes.deepgram.connections) == stt_before
    assert all(c.media_count() == 0 for c in (replay, no_token, stolen, unknown))
    rejected = phone_server.rows(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'stream.rejected'"
    )
    assert rejected[0]["n"] >= 4
    # The legitimate call's token still works for a single stream: the other call's is unused.
    good = new_caller(fakes, phone_server, call_sid=other.call_sid)
    await good.connect(url=other.stream_url, params=other.stream_params)
    await good.wait_for_bot_audio(after_t=0, timeout=15)
    await first.hangup()
    await good.hangup()


# ---- 9: a retried webhook -----------------------------------------------------------------------


async def test_duplicate_webhook_creates_one_call_with_the_same_twiml(fakes, phone_server):
    caller = new_caller(fakes, phone_server)
    responses = await asyncio.gather(*(caller.dial() for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert len({r.text for r in responses}) == 1
    assert "<Connect><Stream" in responses[0].text
    assert len(phone_server.rows("SELECT * FROM calls WHERE call_sid = ?", (caller.call_sid,))) == 1
    created = phone_server.rows(
        "SELECT * FROM audit_log WHERE call_id = ? AND action = 'call.created'", (caller.call_sid,)
    )
    assert len(created) == 1


# ---- 10: malformed frames -----------------------------------------------------------------------

JUNK = [
    "{not json",
    "[1, 2, 3]",
    json.dumps({"event": "party"}),
    json.dumps({"event": "media", "media": {"payload": "%%% not base64 %%%"}}),
    json.dumps({"event": "media", "media": {"payload": 42}}),
    json.dumps({"event": "media"}),
    json.dumps({"event": "dtmf", "dtmf": {"digit": "Z"}}),
    json.dumps({"event": "start", "start": {"callSid": "CAx", "streamSid": "MZx"}}),
    b"\x00\x01\x02 binary",
    json.dumps({"event": "media", "media": {"payload": "A" * 80_000}}),
]


async def test_malformed_frames_mid_call_are_dropped_and_counted(fakes, phone_server):
    fakes.openai.responder = ScriptedLLM([], default=Text("Still here and listening."))
    caller = await answered_call(fakes, phone_server, [SINK])
    for _ in range(5):
        for junk in JUNK:
            await caller.send_raw(junk)
    spoken = await caller.say(audio.load("leaking_sink"))
    await caller.wait_for_bot_audio(spoken["t_last_voiced_frame"], timeout=15, voiced_only=True)
    assert not caller.closed
    await caller.wait_for_bot_silence(quiet_s=0.5, timeout=20, voiced_only=True)
    await caller.hangup()
    row = await wait_for_status(phone_server, caller.call_sid, "COMPLETED")
    assert row["malformed_frames"] == 5 * len(JUNK)
    assert ("caller", SINK, 0) in turns(phone_server, caller.call_sid)


# ---- 11: concurrent calls -----------------------------------------------------------------------


async def test_concurrent_calls_keep_their_own_audio_and_records(fakes, phone_server):
    lines = {BOOK: "book_tomorrow", SINK: "leaking_sink", NAME: "my_name"}
    replies = {text: f"Reply number {i} for you." for i, text in enumerate(lines)}
    fakes.openai.responder = lambda body: Text(replies[last_user_text(body)])
    fakes.cartesia.freq_for = hashed_freq  # each reply gets its own tone
    assert len({hashed_freq(r) for r in replies.values()}) == len(replies)

    async def one_call(text: str):
        caller = await answered_call(fakes, phone_server, [text])
        spoken = await caller.say(audio.load(lines[text]))
        reply_t = await caller.wait_for_bot_audio(
            spoken["t_last_voiced_frame"], timeout=20, voiced_only=True
        )
        await caller.wait_for_bot_silence(quiet_s=0.8, timeout=20, voiced_only=True)
        await caller.hangup()
        return caller, caller.bot_audio(after_t=reply_t)

    results = await asyncio.gather(*(one_call(text) for text in lines))
    for (caller, reply_audio), text in zip(results, lines, strict=True):
        assert abs(dominant_freq(reply_audio) - hashed_freq(replies[text])) < 40
        assert {r["msg"]["streamSid"] for r in caller.events("media")} == {caller.stream_sid}
        await wait_for_status(phone_server, caller.call_sid, "COMPLETED")
        own = turns(phone_server, caller.call_sid)
        assert ("caller", text, 0) in own and ("bot", replies[text], 0) in own
        others = [t for t in lines if t != text]
        assert not any(role == "caller" and t in others for role, t, _ in own)


# ---- health, readiness, voicemail fallback ------------------------------------------------------


def test_health_and_ready_report_providers(phone_server):
    health = httpx.get(phone_server.url + "/health", headers=METRICS_HEADERS).json()
    assert health["status"] == "ok"
    assert health["providers"]["deepgram"] and health["providers"]["twilio"]
    assert set(health["providers"]) == {
        "deepgram",
        "openai",
        "cartesia",
        "twilio",
        "google_calendar",
    }
    ready = httpx.get(phone_server.url + "/ready", headers=METRICS_HEADERS)
    assert ready.status_code == 200 and ready.json()["missing"] == []


def test_prometheus_metrics_cover_the_calls_so_far(phone_server):
    text = httpx.get(phone_server.url + "/metrics", headers=METRICS_HEADERS).text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values['receptionist_calls_total{status="COMPLETED"}'] >= 3
    assert values["receptionist_turn_latency_seconds_count"] >= 3
    assert values["receptionist_time_to_greeting_seconds_count"] >= 3
    assert values["receptionist_active_calls"] == 0
    assert values["receptionist_malformed_frames_total"] >= len(JUNK) * 5
    assert values["receptionist_event_loop_lag_seconds_count"] > 10


async def test_recording_callback_keeps_the_voicemail(fakes, phone_server):
    caller = new_caller(fakes, phone_server)
    await caller.dial()
    form = {
        "AccountSid": caller.account_sid,
        "CallSid": caller.call_sid,
        "From": caller.from_number,
        "To": caller.to_number,
        "RecordingUrl": "https://api.twilio.com/recordings/RE123",
        "RecordingDuration": "12",
    }
    signature = caller.sign(phone_server.public_base_url + "/twilio/recording", form)
    async with httpx.AsyncClient() as client:
        forged = await client.post(phone_server.url + "/twilio/recording", data=form)
        ok = await client.post(
            phone_server.url + "/twilio/recording",
            data=form,
            headers={"X-Twilio-Signature": signature},
        )
    assert forged.status_code == 403 and ok.status_code == 200
    messages = phone_server.rows("SELECT * FROM messages WHERE call_id = ?", (caller.call_sid,))
    assert len(messages) == 1 and messages[0]["recording_url"].endswith("RE123")
    assert call_row(phone_server, caller.call_sid)["end_reason"] == "voicemail_fallback"


@pytest.fixture(scope="module")
def keyless_server(server_factory):
    return server_factory(
        deepgram_api_key="", openai_api_key="", cartesia_api_key="", test_page_enabled="false"
    )


async def test_without_provider_keys_callers_get_voicemail(fakes, keyless_server):
    async with httpx.AsyncClient() as client:
        ready = await client.get(keyless_server.url + "/ready", headers=METRICS_HEADERS)
    assert ready.status_code == 503
    assert ready.json()["missing"] == ["deepgram", "openai", "cartesia"]
    assert "NOT configured" in keyless_server.log()
    caller = new_caller(fakes, keyless_server)
    response = await caller.dial()
    assert response.status_code == 200
    assert "<Connect" not in response.text and "<Record" in response.text
    row = call_row(keyless_server, caller.call_sid)
    assert row["status"] == "FAILED" and row["end_reason"] == "providers_not_configured"


def test_test_page_can_be_switched_off(keyless_server):
    assert httpx.get(keyless_server.url + "/").status_code == 404
    offer = httpx.post(keyless_server.url + "/api/offer", json={"sdp": "v=0", "type": "offer"})
    assert offer.status_code == 404
    assert not keyless_server.rows("SELECT * FROM calls WHERE transport = 'webrtc'")
