"""Self-tests of the provider fakes against the real clients they stand in for (no server).

Each fake runs in-process on the test's event loop, except for the ``ProviderFakes`` tests, which
exercise the background-thread arrangement the end-to-end tests use.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import openai as openai_sdk
import pytest
import websockets
from aiohttp import web
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    LLMRunFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSTextFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.tests.utils import SleepFrame, run_test
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests import audio
from tests.fakes import (
    FakeCartesia,
    FakeDeepgram,
    FakeOpenAI,
    FakeTwilioCaller,
    FakeTwilioREST,
    ProviderFakes,
    Rule,
    ScriptedLLM,
    Text,
    ToolCall,
    ToolCalls,
    dominant_freq,
    hashed_freq,
    last_user_text,
    tool_names,
    tool_results,
    ulaw_silence,
    ulaw_tone,
)
from tests.fakes.cartesia import CHUNK_SECS, SECS_PADDING, SECS_PER_WORD
from tests.fakes.dsp import pcm16_to_ulaw, sine_pcm16, ulaw_to_pcm16

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "selftest-auth-token"


# ---------------------------------------------------------------------------------------------
# Audio helpers and fixtures


def test_fixtures_exist_and_are_speech() -> None:
    for name in audio.FIXTURES:
        ulaw = audio.load(name)
        assert 1.0 < len(ulaw) / 8000 < 6.0, name
        assert dominant_freq(ulaw) > 0, name
    wav = audio.load("book_tomorrow_48k.wav")
    assert wav[:4] == b"RIFF" and int.from_bytes(wav[24:28], "little") == 48000


def test_ulaw_tone_round_trip() -> None:
    for freq in (300.0, 440.0, 1000.0, 2500.0):
        assert dominant_freq(ulaw_tone(freq, 0.5)) == pytest.approx(freq, rel=0.03)
    assert dominant_freq(ulaw_silence(0.5)) == 0.0
    assert dominant_freq(
        ulaw_silence(0.2) + ulaw_tone(700, 0.4) + ulaw_silence(0.3)
    ) == pytest.approx(700, rel=0.03)
    assert hashed_freq("call A") == hashed_freq("call A")


# ---------------------------------------------------------------------------------------------
# Deepgram


@pytest.fixture
async def deepgram() -> Any:
    fake = FakeDeepgram()
    await fake.start()
    yield fake
    await fake.stop()


def _pcm_frames(pcm: bytes, rate: int = 8000, ms: int = 20) -> list[InputAudioRawFrame]:
    size = rate * ms // 1000 * 2
    return [
        InputAudioRawFrame(audio=pcm[i : i + size], sample_rate=rate, num_channels=1)
        for i in range(0, len(pcm), size)
    ]


async def test_deepgram_stt_service_gets_scripted_transcript(deepgram: FakeDeepgram) -> None:
    deepgram.scripts["CAdeepgram"] = [audio.FIXTURES["book_tomorrow"]]
    stt = DeepgramSTTService(
        api_key="test-deepgram", base_url=deepgram.url, tag="CAdeepgram", sample_rate=8000
    )
    # Pipecat silently falls back to the production host if the custom environment fails.
    assert stt._client._client_wrapper.get_environment().production.startswith("ws://127.0.0.1")

    speech = ulaw_to_pcm16(audio.load("book_tomorrow"))
    silence = bytes(8000)  # 0.5 s of digital silence
    down, _ = await run_test(
        stt,
        frames_to_send=[
            *_pcm_frames(speech),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),
            SleepFrame(0.3),
            *_pcm_frames(silence),
            VADUserStoppedSpeakingFrame(stop_secs=0.2),  # nothing voiced: empty finalize answer
            SleepFrame(0.3),
        ],
    )
    finals = [f.text for f in down if isinstance(f, TranscriptionFrame)]
    interims = [f.text for f in down if isinstance(f, InterimTranscriptionFrame)]
    assert finals == [audio.FIXTURES["book_tomorrow"]]
    assert interims == ["Can you"]

    conn = deepgram.connections[0]
    assert conn["path"].startswith("/v1/listen?")
    assert conn["query"]["sample_rate"] == "8000"
    assert conn["query"]["encoding"] == "linear16"
    assert conn["query"]["tag"] == "CAdeepgram"
    assert conn["authorization"] == "Token test-deepgram"
    assert conn["audio_bytes"] == len(speech) + len(silence)
    types = [m["type"] for m in deepgram.messages]
    assert types.count("Finalize") == 2 and types[-1] == "CloseStream"
    assert deepgram.sent_texts("CAdeepgram") == [audio.FIXTURES["book_tomorrow"]]


async def test_deepgram_protocol_details(deepgram: FakeDeepgram) -> None:
    """Raw client: tail of an utterance split by the VAD, latency, CloseStream -> Metadata."""
    deepgram.scripts["t1"] = ["first line", "second line"]
    deepgram.latency_s = 0.15
    tone = sine_pcm16(300, 0.5, 8000)
    url = deepgram.url + "/v1/listen?encoding=linear16&sample_rate=8000&channels=1&tag=t1"

    async with websockets.connect(url) as ws:

        async def finalize() -> tuple[dict[str, Any], float]:
            sent = asyncio.get_running_loop().time()
            await ws.send(json.dumps({"type": "Finalize"}))
            while True:
                msg = json.loads(await ws.recv())
                if msg["is_final"]:
                    return msg, asyncio.get_running_loop().time() - sent

        await ws.send(tone)
        interim = json.loads(await ws.recv())
        assert (
            interim["is_final"] is False
            and interim["channel"]["alternatives"][0]["transcript"] == "first line"
        )
        final, waited = await finalize()
        assert final["channel"]["alternatives"][0]["transcript"] == "first line"
        assert final["from_finalize"] and final["speech_final"] and waited >= 0.14
        assert final["start"] == 0.0 and final["duration"] == pytest.approx(0.5)

        # The same utterance goes on after a short pause: not a new line.
        await ws.send(bytes(1600))
        await ws.send(tone)
        tail, _ = await finalize()
        assert tail["channel"]["alternatives"][0]["transcript"] == ""

        # A real pause, then new speech: the next line.
        await ws.send(bytes(9600))
        await ws.send(tone)
        await ws.recv()  # interim
        second, _ = await finalize()
        assert second["channel"]["alternatives"][0]["transcript"] == "second line"

        await ws.send(json.dumps({"type": "CloseStream"}))
        meta = json.loads(await ws.recv())
        assert meta["type"] == "Metadata" and meta["channels"] == 1
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    assert deepgram.sent_texts() == ["first line", "second line"]


# ---------------------------------------------------------------------------------------------
# OpenAI


@pytest.fixture
async def openai_fake() -> Any:
    fake = FakeOpenAI()
    await fake.start()
    yield fake
    await fake.stop()


async def test_openai_llm_service_tool_round_trip(openai_fake: FakeOpenAI) -> None:
    openai_fake.responder = ScriptedLLM(
        [
            Rule(
                when_user_contains="BOOK",
                reply=ToolCall("book_appointment", {"date": "2026-12-01", "time": "10:00"}),
            ),
            Rule(after_tool="book_appointment", reply=Text("You're booked for 10 AM.")),
        ]
    )
    calls: list[dict[str, Any]] = []

    async def book(params: FunctionCallParams) -> None:
        calls.append(dict(params.arguments))
        await params.result_callback({"status": "confirmed", "id": "appt-42"})

    llm = OpenAILLMService(
        api_key="test-openai",
        base_url=openai_fake.url,
        settings=OpenAILLMService.Settings(
            model="fake-model", system_instruction="You are a receptionist."
        ),
    )
    llm.register_function("book_appointment", book)
    schema = FunctionSchema(
        name="book_appointment",
        description="Book an appointment.",
        properties={"date": {"type": "string"}, "time": {"type": "string"}},
        required=["date", "time"],
    )
    context = LLMContext(
        messages=[{"role": "user", "content": "Please book me Dec 1 at 10."}],
        tools=ToolsSchema(standard_tools=[schema]),
    )
    user_agg, assistant_agg = LLMContextAggregatorPair(context)
    await run_test(
        Pipeline([user_agg, llm, assistant_agg]), frames_to_send=[LLMRunFrame(), SleepFrame(0.5)]
    )
    await llm._client.close()  # pipecat never closes its AsyncOpenAI client (pooled socket leaks)

    assert calls == [{"date": "2026-12-01", "time": "10:00"}]
    assert len(openai_fake.requests) == 2
    first, second = (r["body"] for r in openai_fake.requests)
    assert openai_fake.requests[0]["authorization"] == "Bearer test-openai"
    assert first["model"] == "fake-model" and first["stream"] is True
    assert tool_names(first) == ["book_appointment"]
    assert last_user_text(first) == "Please book me Dec 1 at 10."
    results = tool_results(second)
    assert len(results) == 1 and json.loads(results[0]["content"]) == {
        "status": "confirmed",
        "id": "appt-42",
    }
    assistant_call = second["messages"][-2]["tool_calls"][0]
    assert results[0]["tool_call_id"] == assistant_call["id"]
    assert context.get_messages()[-1] == {
        "role": "assistant",
        "content": "You're booked for 10 AM.",
    }


async def test_openai_sdk_streaming_usage_failures_and_hangs(openai_fake: FakeOpenAI) -> None:
    async with openai_sdk.AsyncOpenAI(
        api_key="k", base_url=openai_fake.url, max_retries=0, timeout=5.0
    ) as client:
        await _exercise_openai_sdk(openai_fake, client)
    assert [r["status"] for r in openai_fake.requests] == [200, 200, 503, None]


async def _exercise_openai_sdk(openai_fake: FakeOpenAI, client: openai_sdk.AsyncOpenAI) -> None:
    openai_fake.responder = lambda body: Text("Hello there,  how can I help?")
    stream = await client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage = [], None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert "".join(pieces) == "Hello there,  how can I help?" and len(pieces) >= 5
    assert usage is not None and usage.total_tokens > 0

    # Parallel tool calls, streamed; and the non-streaming shape.
    openai_fake.responder = lambda body: ToolCalls(
        [ToolCall("a", {"x": 1}, id="call_a"), ToolCall("b", {})]
    )
    done = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    message = done.choices[0].message
    assert done.choices[0].finish_reason == "tool_calls"
    assert [
        (c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []
    ][0] == (
        "call_a",
        "a",
        {"x": 1},
    )
    assert message.tool_calls is not None and message.tool_calls[1].function.name == "b"

    await openai_fake.fail_next(503)
    with pytest.raises(openai_sdk.APIStatusError) as failure:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert failure.value.status_code == 503 and failure.value.body["type"] == "server_error"

    await openai_fake.hang_next()
    with pytest.raises(openai_sdk.APITimeoutError):
        await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True, timeout=0.3
        )


def test_scripted_llm_rules() -> None:
    llm = ScriptedLLM(
        [
            Rule(when_user_contains="book", reply=ToolCall("book", {}), once=True),
            Rule(after_tool="end_call", reply=Text("Bye.")),
            Rule(when_user_contains="book", reply=Text("Again?")),
        ],
        default=Text("Sorry?"),
    )
    user = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Please BOOK me"}]}]}
    assert llm(user) == ToolCall("book", {})
    assert llm(user) == Text("Again?")
    after_end = {
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "end_call", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ]
    }
    assert llm(after_end) == Text("Bye.")
    assert llm({"messages": [{"role": "user", "content": "hello"}]}) == Text("Sorry?")


# ---------------------------------------------------------------------------------------------
# Cartesia


@pytest.fixture
async def cartesia() -> Any:
    fake = FakeCartesia()
    await fake.start()
    yield fake
    await fake.stop()


async def test_cartesia_tts_service_audio_and_words(cartesia: FakeCartesia) -> None:
    tts = CartesiaTTSService(
        api_key="test-cartesia",
        url=cartesia.url,
        sample_rate=8000,
        settings=CartesiaTTSService.Settings(voice="v"),
    )
    text = "Thanks for calling Acme Dental."
    down, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame(text), SleepFrame(1.0)])

    audio_frames = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    words = [f.text for f in down if isinstance(f, TTSTextFrame)]
    assert words == text.split()
    pcm = b"".join(f.audio for f in audio_frames)
    assert len(pcm) == 2 * int(round(8000 * (SECS_PER_WORD * 5 + SECS_PADDING)))
    assert dominant_freq(pcm16_to_ulaw(pcm)) == pytest.approx(440, rel=0.03)

    assert cartesia.connections[0]["api_key"] == "test-cartesia"
    assert cartesia.connections[0]["cartesia_version"]
    first = cartesia.messages[0]["msg"]
    assert first["transcript"] == text and first["voice"] == {"mode": "id", "id": "v"}
    assert first["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 8000,
    }
    assert cartesia.spoken_texts() == [text] and len(cartesia.done_sent) == 1


async def test_cartesia_cumulative_timestamps_and_cancel(cartesia: FakeCartesia) -> None:
    cartesia.freq_for = hashed_freq
    base = {
        "model_id": "m",
        "voice": {"mode": "id", "id": "v"},
        "add_timestamps": True,
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
    }
    async with websockets.connect(cartesia.url) as ws:
        for transcript in ("One two.", "Three four five."):
            await ws.send(
                json.dumps({**base, "context_id": "c1", "transcript": transcript, "continue": True})
            )
        await ws.send(json.dumps({**base, "context_id": "c1", "transcript": "", "continue": False}))
        received: list[dict[str, Any]] = []
        while not received or received[-1]["type"] != "done":
            received.append(json.loads(await ws.recv()))
        stamps = [m["word_timestamps"] for m in received if m["type"] == "timestamps"]
        assert [s["words"] for s in stamps] == [["One", "two."], ["Three", "four", "five."]]
        # The second message continues the context's time line.
        assert stamps[1]["start"][0] == pytest.approx(SECS_PER_WORD * 2 + SECS_PADDING * 1.5)

        # A long sentence is cancelled while streaming: nothing more for that context.
        long_text = " ".join(["word"] * 200)
        await ws.send(
            json.dumps({**base, "context_id": "c2", "transcript": long_text, "continue": True})
        )
        await ws.send(json.dumps({**base, "context_id": "c2", "transcript": "", "continue": False}))
        await ws.recv()
        await ws.send(json.dumps({"context_id": "c2", "cancel": True}))
        await asyncio.sleep(0.2)
        late: list[dict[str, Any]] = []
        while True:
            try:
                late.append(json.loads(await asyncio.wait_for(ws.recv(), 0.2)))
            except TimeoutError:
                break
    chunks = 1 + sum(m["type"] == "chunk" for m in late)
    assert chunks < (SECS_PER_WORD * 200 + SECS_PADDING) / CHUNK_SECS / 2  # far fewer than all
    assert not any(m["type"] == "done" for m in late)
    assert [c["context_id"] for c in cartesia.cancels] == ["c2"]
    assert [d["context_id"] for d in cartesia.done_sent] == ["c1"]


# ---------------------------------------------------------------------------------------------
# Twilio REST


@pytest.fixture
async def twilio_rest() -> Any:
    fake = FakeTwilioREST(ACCOUNT_SID, AUTH_TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


async def test_twilio_async_client_sms_and_pipecat_hangup(twilio_rest: FakeTwilioREST) -> None:
    http_client = AsyncTwilioHttpClient()
    try:
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
        client.api.base_url = twilio_rest.url
        message = await client.messages.create_async(
            to="+15551230001", from_="+15550100000", body="Your booking is confirmed."
        )
        await twilio_rest.fail_next(500)
        with pytest.raises(TwilioRestException) as failure:
            await client.messages.create_async(to="+15551230001", from_="+15550100000", body="x")
    finally:
        await http_client.close()
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued" and message.body == "Your booking is confirmed."
    assert failure.value.status == 500 and failure.value.code == 20500
    record = twilio_rest.messages[0]
    assert record["form"] == {
        "To": "+15551230001",
        "From": "+15550100000",
        "Body": "Your booking is confirmed.",
    }

    # Pipecat's own auto hang-up on EndFrame.
    serializer = TwilioFrameSerializer(
        stream_sid="MZ" + "2" * 32,
        call_sid="CA" + "3" * 32,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        base_url=twilio_rest.url,
    )
    await serializer.serialize(EndFrame())
    assert [(h["call_sid"], h["form"]) for h in twilio_rest.hangups()] == [
        ("CA" + "3" * 32, {"Status": "completed"})
    ]


async def test_twilio_sync_client_hangup_auth_and_404(twilio_rest: FakeTwilioREST) -> None:
    def hang_up(token: str, call_sid: str) -> str | None:
        client = Client(ACCOUNT_SID, token)
        client.api.base_url = twilio_rest.url
        return client.calls(call_sid).update(status="completed").status

    call_sid = "CA" + "4" * 32
    assert await asyncio.to_thread(hang_up, AUTH_TOKEN, call_sid) == "completed"
    with pytest.raises(TwilioRestException) as twice:
        await asyncio.to_thread(hang_up, AUTH_TOKEN, call_sid)
    with pytest.raises(TwilioRestException) as bad_auth:
        await asyncio.to_thread(hang_up, "wrong-token", "CA" + "5" * 32)
    assert (twice.value.status, twice.value.code) == (404, 20404)
    assert (bad_auth.value.status, bad_auth.value.code) == (401, 20003)
    assert [u["status"] for u in twilio_rest.call_updates] == [200, 404, 401]
    assert twilio_rest.call_updates[0]["authorization"].startswith("Basic ")


# ---------------------------------------------------------------------------------------------
# ProviderFakes (background thread)


def test_provider_fakes_thread_env_call_reset() -> None:
    with ProviderFakes(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN) as fakes:
        env = fakes.env()
        assert env["CARTESIA_BASE_URL"] + "/tts/websocket" == fakes.cartesia.url
        assert env["OPENAI_BASE_URL"].endswith("/v1") and env["TWILIO_ACCOUNT_SID"] == ACCOUNT_SID

        client = Client(ACCOUNT_SID, AUTH_TOKEN)  # blocking client from this (non-loop) thread
        client.api.base_url = env["TWILIO_API_BASE_URL"]
        client.calls("CA" + "6" * 32).update(status="completed")
        call = client.calls.create(
            to="+15551230001", from_=env["TWILIO_PHONE_NUMBER"], twiml="<Response/>"
        )
        assert call.sid.startswith("CA") and len(fakes.twilio.calls_created) == 1
        assert len(fakes.twilio.hangups()) == 1

        fakes.call(fakes.openai.fail_next(429))
        response = httpx.post(env["OPENAI_BASE_URL"] + "/chat/completions", json={"messages": []})
        assert (
            response.status_code == 429
            and response.json()["error"]["type"] == "rate_limit_exceeded"
        )

        fakes.deepgram.default_script = ["hello"]
        fakes.reset()
        assert not fakes.twilio.call_updates and not fakes.openai.requests
        assert fakes.deepgram.default_script == [] and not fakes.twilio.ended_calls


# ---------------------------------------------------------------------------------------------
# FakeTwilioCaller against a stub server


class _StubServer:
    """A tiny server standing in for ours: validates the webhook, returns TwiML, echoes audio."""

    def __init__(self) -> None:
        self.validator = RequestValidator(AUTH_TOKEN)
        self.webhooks: list[dict[str, Any]] = []
        self.ws_messages: list[dict[str, Any]] = []
        self.ws_headers: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_post("/twilio/voice", self.voice)
        self.app.router.add_get("/twilio/ws", self.ws)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.url = ""

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def voice(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = self.validator.validate("https://rx.example.com/twilio/voice", form, signature)
        self.webhooks.append({"form": form, "valid": valid, "headers": dict(request.headers)})
        if not valid:
            return web.Response(status=403)
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            '<Stream url="wss://rx.example.com/twilio/ws">'
            f'<Parameter name="from_number" value="{form["From"]}"/>'
            '<Parameter name="token" value="secret-token"/>'
            "</Stream></Connect></Response>"
        )
        return web.Response(text=twiml, content_type="application/xml")

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        self.ws_headers = dict(request.headers)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        stream_sid = ""
        async for message in ws:
            try:
                msg = json.loads(message.data)
            except ValueError:
                self.ws_messages.append({"raw": message.data})
                continue
            self.ws_messages.append(msg)
            if msg["event"] == "start":
                stream_sid = msg["streamSid"]
                tone = ulaw_tone(1000, 0.4)
                for i in range(0, len(tone), 320):
                    payload = base64.b64encode(tone[i : i + 320]).decode()
                    await ws.send_json(
                        {"event": "media", "streamSid": stream_sid, "media": {"payload": payload}}
                    )
                await ws.send_json(
                    {"event": "mark", "streamSid": stream_sid, "mark": {"name": "greeting"}}
                )
            elif msg["event"] == "dtmf":
                await ws.send_json({"event": "clear", "streamSid": stream_sid})
                await ws.close()
        return ws


async def test_fake_caller_against_stub_server() -> None:
    stub = _StubServer()
    await stub.start()
    try:
        forged = FakeTwilioCaller(stub.url, "https://rx.example.com", "not-the-token", ACCOUNT_SID)
        assert (await forged.dial()).status_code == 403

        caller = FakeTwilioCaller(stub.url, "https://rx.example.com", AUTH_TOKEN, ACCOUNT_SID)
        response = await caller.dial()
        assert response.status_code == 200 and stub.webhooks[-1]["valid"]
        form = stub.webhooks[-1]["form"]
        assert RequestValidator(AUTH_TOKEN).validate(
            "https://rx.example.com/twilio/voice",
            form,
            caller.sign("https://rx.example.com/twilio/voice", form),
        )
        assert form["CallSid"] == caller.call_sid and form["Direction"] == "inbound"
        assert (
            stub.webhooks[-1]["headers"]["I-Twilio-Idempotency-Token"] == caller.idempotency_token
        )
        assert caller.stream_url == "wss://rx.example.com/twilio/ws"
        assert caller.stream_params == {"from_number": "+15551230001", "token": "secret-token"}

        await caller.connect()
        assert RequestValidator(AUTH_TOKEN).validate(
            "wss://rx.example.com/twilio/ws", {}, stub.ws_headers["X-Twilio-Signature"]
        )
        greeting_t = await caller.wait_for_bot_audio(after_t=0.0, timeout=2)
        assert greeting_t == caller.first_media_t()
        await caller.wait_for(lambda: bool(caller.events("mark")), 2, "greeting audio")
        last_bot_t = await caller.wait_for_bot_silence(quiet_s=0.2, timeout=3)
        assert last_bot_t is not None
        assert dominant_freq(caller.bot_audio()) == pytest.approx(1000, rel=0.03)
        assert caller.bot_audio_bytes() == 3200 and caller.media_count() == 10

        said = await caller.say(ulaw_tone(500, 0.3), name="tone")
        assert said["t_end"] - said["t_start"] == pytest.approx(0.28, abs=0.05)
        assert said["t_last_voiced_frame"] == said["t_end"]
        await caller.send_dtmf("5")
        await caller.wait_for(lambda: caller.closed, 2, "server close")
        assert caller.closed_by_server and caller.close_code == 1000 and len(caller.clears()) == 1
        await caller.hangup()
    finally:
        await stub.runner.cleanup()

    events = [m["event"] for m in stub.ws_messages]
    assert events[:2] == ["connected", "start"] and events[-1] == "dtmf" and "mark" in events
    start = stub.ws_messages[1]
    assert start["start"]["customParameters"] == {
        "from_number": "+15551230001",
        "token": "secret-token",
    }
    assert start["start"]["mediaFormat"] == {
        "encoding": "audio/x-mulaw",
        "sampleRate": 8000,
        "channels": 1,
    }
    seqs = [int(m["sequenceNumber"]) for m in stub.ws_messages[1:]]
    assert seqs == list(range(1, len(seqs) + 1))
    media = [m["media"] for m in stub.ws_messages if m["event"] == "media"]
    assert [int(m["chunk"]) for m in media] == list(range(1, len(media) + 1))
    assert [int(m["timestamp"]) for m in media] == [20 * i for i in range(len(media))]
    assert all(len(base64.b64decode(m["payload"])) == 160 for m in media)
    # Real-time pacing: frames sent ~ elapsed / 20 ms.
    sent_media = [s["t"] for s in caller.sent if s["event"] == "media"]
    assert (sent_media[-1] - sent_media[0]) == pytest.approx(0.02 * (len(sent_media) - 1), abs=0.06)


async def test_fake_caller_negative_start_options() -> None:
    stub = _StubServer()
    await stub.start()
    try:
        caller = FakeTwilioCaller(stub.url, "https://rx.example.com", AUTH_TOKEN, ACCOUNT_SID)
        await caller.dial()
        await caller.connect(send_start=False)
        await caller.send_media_frame(ulaw_silence(0.02))
        await caller.send_start(
            params={"from_number": "+1"}, start_params_override={"callSid": None}
        )
        await caller.send_raw("not json")
        await caller.hangup()
        assert not caller.closed_by_server
    finally:
        await stub.runner.cleanup()
    assert [m.get("event") for m in stub.ws_messages[:3]] == ["connected", "media", "start"]
    start = stub.ws_messages[2]["start"]
    assert "callSid" not in start and start["customParameters"] == {"from_number": "+1"}
