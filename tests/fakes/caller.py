"""A fake phone call: plays Twilio (voice webhook + Media Streams WebSocket) against the server.

Typical use::

    caller = FakeTwilioCaller(server_url="http://127.0.0.1:8080", public_base_url="https://rx.example",
                              auth_token=TOKEN, account_sid=SID)
    response = await caller.dial()          # signed POST /twilio/voice, TwiML parsed
    await caller.connect()                  # connected + start, then 20 ms media frames in real time
    greeting_t = await caller.wait_for_bot_audio(after_t=0.0, timeout=5)
    await caller.wait_for_bot_silence()
    said = await caller.say(audio.load("book_tomorrow"))
    first_reply_t = await caller.wait_for_bot_audio(after_t=said["t_last_voiced_frame"], timeout=5)
    await caller.hangup()

Every record's ``t`` is ``time.monotonic()``, the clock the provider fakes use.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ._base import now
from .dsp import (
    ULAW_SILENCE,
    VOICED_RMS,
    dominant_freq_pcm16,
    pcm16_to_ulaw,
    rms_ulaw,
    sine_pcm16,
    ulaw_to_pcm16,
)

SAMPLE_RATE = 8000
FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law
FRAME_SECS = 0.02


def ulaw_tone(freq: float, secs: float, amplitude: int = 8000) -> bytes:
    """An 8 kHz mu-law sine tone."""
    return pcm16_to_ulaw(sine_pcm16(freq, secs, SAMPLE_RATE, amplitude))


def ulaw_silence(secs: float) -> bytes:
    """8 kHz mu-law line silence."""
    return bytes([ULAW_SILENCE]) * int(round(secs * SAMPLE_RATE))


def dominant_freq(ulaw: bytes) -> float:
    """Pitch (Hz) of the voiced parts of 8 kHz mu-law audio, by zero crossings (0.0 if silent)."""
    return dominant_freq_pcm16(ulaw_to_pcm16(ulaw), SAMPLE_RATE)


def _random_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class _Utterance:
    audio: bytes
    record: dict[str, Any]
    done: asyncio.Future[dict[str, Any]]
    pos: int = 0
    voiced: list[bool] = field(default_factory=list)


class FakeTwilioCaller:
    """One inbound call, as Twilio places it.

    Records:
      - ``dial_response`` (httpx.Response), ``twiml``, ``stream_url``, ``stream_params``.
      - ``received``: [{t, event, msg}] every WebSocket message from the server (``msg`` parsed;
        raw text/bytes with ``event=None`` if not JSON). Media records also carry ``audio``
        (mu-law bytes) and ``voiced`` (RMS above the voice threshold).
      - ``sent``: [{t, event, seq}] every message sent (``event=None`` for ``send_raw``).
      - ``utterances``: [{name, t_queued, t_start, t_last_voiced_frame, t_end}].
      - ``closed_by_server`` / ``close_code`` / ``close_reason`` / ``closed_t``.

    Twilio behaviours reproduced: signed webhook and WebSocket handshake, ``connected`` and
    ``start`` first, ``sequenceNumber``/``chunk``/``timestamp`` numbering, one 160-byte media
    frame every 20 ms on an absolute clock with line silence when nothing is said, ``mark``
    echoed once the bot audio queued before it has played (immediately on ``clear``).
    """

    def __init__(
        self,
        server_url: str,
        public_base_url: str,
        auth_token: str,
        account_sid: str,
        call_sid: str | None = None,
        from_number: str = "+15551230001",
        to_number: str = "+15550100000",
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.public_base_url = public_base_url.rstrip("/")
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.call_sid = call_sid or _random_sid("CA")
        self.stream_sid = _random_sid("MZ")
        self.from_number = from_number
        self.to_number = to_number
        self.idempotency_token = f"{uuid.uuid4()}-{self.call_sid}"

        self.dial_response: httpx.Response | None = None
        self.twiml: str | None = None
        self.stream_url: str | None = None
        self.stream_params: dict[str, str] = {}

        self.received: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.utterances: list[dict[str, Any]] = []
        self.closed_by_server = False
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_t: float | None = None
        self.started_t: float | None = None

        self._ws: ClientConnection | None = None
        self._send_lock = asyncio.Lock()
        self._seq = 0
        self._chunk = 0
        self._queue: deque[_Utterance] = deque()
        self._pending_marks: list[tuple[float, str]] = []
        self._playout_end = 0.0
        self._hanging_up = False
        self._reader: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None

    # -- voice webhook ---------------------------------------------------------------------------

    def webhook_params(self) -> dict[str, str]:
        """The form fields Twilio POSTs to the voice webhook for an inbound call."""
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": "ringing",
            "Called": self.to_number,
            "CalledCity": "",
            "CalledCountry": "US",
            "CalledState": "",
            "CalledZip": "",
            "Caller": self.from_number,
            "CallerCity": "",
            "CallerCountry": "US",
            "CallerState": "",
            "CallerZip": "",
            "Direction": "inbound",
            "From": self.from_number,
            "FromCity": "",
            "FromCountry": "US",
            "FromState": "",
            "FromZip": "",
            "To": self.to_number,
            "ToCity": "",
            "ToCountry": "US",
            "ToState": "",
            "ToZip": "",
        }

    def sign(self, url: str, params: dict[str, str]) -> str:
        """``X-Twilio-Signature`` for a request to ``url`` with these form params."""
        return RequestValidator(self.auth_token).compute_signature(url, params)

    async def dial(
        self,
        *,
        sign: bool = True,
        signature: str | None = None,
        extra_params: dict[str, str] | None = None,
        path: str = "/twilio/voice",
    ) -> httpx.Response:
        """POST the voice webhook (signed over ``public_base_url + path``) and parse the TwiML.

        ``sign=False`` omits the signature header; ``signature=...`` sends that value instead.
        """
        params = {**self.webhook_params(), **(extra_params or {})}
        headers = {
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
            "I-Twilio-Idempotency-Token": self.idempotency_token,
            "X-Home-Region": "us1",
        }
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        elif sign:
            headers["X-Twilio-Signature"] = self.sign(self.public_base_url + path, params)
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(self.server_url + path, data=params, headers=headers)
        self.dial_response = response
        self.twiml = response.text
        self.stream_url, self.stream_params = None, {}
        if response.status_code == 200:
            self._parse_twiml(response.text)
        return response

    def _parse_twiml(self, twiml: str) -> None:
        try:
            root = ET.fromstring(twiml)
        except ET.ParseError:
            return
        stream = root.find("./Connect/Stream")
        if stream is None:
            return
        self.stream_url = stream.get("url")
        self.stream_params = {
            p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")
        }

    # -- media stream ----------------------------------------------------------------------------

    def local_ws_url(self, public_url: str) -> str:
        """Map the public ``wss://HOST/path`` of the TwiML onto the server under test."""
        public = urlsplit(public_url)
        server = urlsplit(self.server_url)
        scheme = "wss" if server.scheme in ("https", "wss") else "ws"
        return urlunsplit((scheme, server.netloc, public.path, public.query, ""))

    async def connect(
        self,
        url: str | None = None,
        params: dict[str, str] | None = None,
        *,
        send_connected: bool = True,
        send_start: bool = True,
        start_params_override: dict[str, Any] | None = None,
        sign: bool = True,
    ) -> None:
        """Open the Media Streams socket, then send ``connected`` and ``start``.

        ``url`` defaults to the TwiML Stream URL (public host mapped to ``server_url``).
        ``params`` replaces the TwiML ``<Parameter>``s as ``customParameters``.
        ``start_params_override`` is merged into the ``start`` object (None values delete keys).
        ``send_start=False`` stops after ``connected``: call ``send_start()`` yourself (e.g.
        after ``send_media_frame`` for a media-before-start test).
        """
        public_url = url or self.stream_url
        if public_url is None:
            raise RuntimeError("no stream URL: dial() first or pass url=")
        headers = {"User-Agent": "Twilio.TmeWs/1.0"}
        if sign:
            headers["X-Twilio-Signature"] = self.sign(public_url, {})
        self._ws = await connect(
            self.local_ws_url(public_url), additional_headers=headers, ping_interval=None
        )
        self._reader = asyncio.create_task(self._read_loop(self._ws))
        if send_connected:
            await self._send_json(
                {"event": "connected", "protocol": "Call", "version": "1.0.0"}, seq=False
            )
        if send_start:
            await self.send_start(params, start_params_override)

    async def send_start(
        self,
        params: dict[str, str] | None = None,
        start_params_override: dict[str, Any] | None = None,
    ) -> None:
        """Send ``start`` and begin streaming media frames (silence until ``say``)."""
        start: dict[str, Any] = {
            "accountSid": self.account_sid,
            "streamSid": self.stream_sid,
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "customParameters": dict(self.stream_params if params is None else params),
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": SAMPLE_RATE, "channels": 1},
        }
        for key, value in (start_params_override or {}).items():
            if value is None:
                start.pop(key, None)
            else:
                start[key] = value
        await self._send_json({"event": "start", "streamSid": self.stream_sid, "start": start})
        self.started_t = now()
        self._sender = asyncio.create_task(self._media_loop())

    async def send_media_frame(self, ulaw: bytes) -> None:
        """Send one media message right now (outside the paced stream; e.g. before ``start``)."""
        await self._send_media(ulaw, timestamp_ms=self._chunk * 20)

    async def say(self, ulaw: bytes, name: str | None = None) -> dict[str, Any]:
        """Queue 8 kHz mu-law audio and return its record once its last frame has been sent.

        The record (also in ``utterances``) has t_queued, t_start (first frame sent),
        t_last_voiced_frame (last frame above the voice threshold) and t_end (last frame sent);
        ``cut_off`` is True when the server ended the stream before the utterance was all sent.
        """
        if self._sender is None:
            raise RuntimeError("media stream not started")
        padded = ulaw + bytes([ULAW_SILENCE]) * (-len(ulaw) % FRAME_BYTES)
        record: dict[str, Any] = {
            "name": name,
            "t_queued": now(),
            "t_start": None,
            "t_last_voiced_frame": None,
            "t_end": None,
        }
        utterance = _Utterance(
            audio=padded,
            record=record,
            done=asyncio.get_running_loop().create_future(),
            voiced=[
                rms_ulaw(padded[i : i + FRAME_BYTES]) > VOICED_RMS
                for i in range(0, len(padded), FRAME_BYTES)
            ],
        )
        self.utterances.append(record)
        self._queue.append(utterance)
        return await utterance.done

    async def send_raw(self, data: str | bytes) -> None:
        """Send an arbitrary WebSocket frame as is (malformed-frame tests)."""
        async with self._send_lock:
            await self._require_ws().send(data)
            self.sent.append({"t": now(), "event": None, "seq": None})

    async def send_dtmf(self, digit: str) -> None:
        """Send a keypad press."""
        await self._send_json(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    async def hangup(self) -> None:
        """The caller hangs up: ``stop``, then close the socket (no-op if already closed)."""
        self._hanging_up = True
        if self._sender is not None:
            self._sender.cancel()
        ws = self._ws
        if ws is not None and self.closed_t is None:
            try:
                await self._send_json(
                    {
                        "event": "stop",
                        "streamSid": self.stream_sid,
                        "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
                    }
                )
                await ws.close()
            except ConnectionClosed:
                pass
        for task in (self._sender, self._reader):
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)

    async def __aenter__(self) -> FakeTwilioCaller:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.hangup()

    # -- internals -------------------------------------------------------------------------------

    def _require_ws(self) -> ClientConnection:
        if self._ws is None:
            raise RuntimeError("not connected")
        return self._ws

    async def _send_json(self, message: dict[str, Any], *, seq: bool = True) -> None:
        async with self._send_lock:
            if seq:
                self._seq += 1
                message = {"event": message["event"], "sequenceNumber": str(self._seq), **message}
            await self._require_ws().send(json.dumps(message))
            self.sent.append(
                {"t": now(), "event": message["event"], "seq": message.get("sequenceNumber")}
            )

    async def _send_media(self, frame: bytes, timestamp_ms: int) -> None:
        self._chunk += 1
        await self._send_json(
            {
                "event": "media",
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(timestamp_ms),
                    "payload": base64.b64encode(frame).decode(),
                },
            }
        )

    async def _media_loop(self) -> None:
        """One frame every 20 ms on an absolute clock; silence when nothing is queued."""
        t0 = now()
        k = 0
        try:
            while True:
                delay = t0 + k * FRAME_SECS - now()
                if delay > 0:
                    await asyncio.sleep(delay)
                frame, utterance, index = self._next_frame()
                await self._send_media(frame, timestamp_ms=k * 20)
                sent_t = now()
                if utterance is not None:
                    self._update_utterance(utterance, index, sent_t)
                await self._echo_due_marks(sent_t)
                k += 1
        except ConnectionClosed:
            pass
        finally:
            # Hung up on mid-sentence by the bot: the utterance is over, cut off (a real outcome).
            # The caller's own hang-up with speech still queued is a test mistake: raise.
            for utterance in self._queue:
                if not utterance.done.done():
                    if self._hanging_up:
                        utterance.done.set_exception(ConnectionError("media stream ended"))
                    else:
                        utterance.record["cut_off"] = True
                        utterance.done.set_result(utterance.record)
            self._queue.clear()

    def _next_frame(self) -> tuple[bytes, _Utterance | None, int]:
        if not self._queue:
            return bytes([ULAW_SILENCE]) * FRAME_BYTES, None, -1
        utterance = self._queue[0]
        index = utterance.pos // FRAME_BYTES
        frame = utterance.audio[utterance.pos : utterance.pos + FRAME_BYTES]
        utterance.pos += FRAME_BYTES
        return frame, utterance, index

    def _update_utterance(self, utterance: _Utterance, index: int, sent_t: float) -> None:
        record = utterance.record
        if index == 0:
            record["t_start"] = sent_t
        if utterance.voiced[index]:
            record["t_last_voiced_frame"] = sent_t
        if utterance.pos >= len(utterance.audio):
            record["t_end"] = sent_t
            self._queue.popleft()
            if not utterance.done.done():
                utterance.done.set_result(record)

    async def _echo_due_marks(self, t: float) -> None:
        due = [m for m in self._pending_marks if m[0] <= t]
        if not due:
            return
        self._pending_marks = [m for m in self._pending_marks if m[0] > t]
        for _, name in due:
            await self._send_json(
                {"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}}
            )

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            self.closed_t = now()
            self.close_code = ws.close_code
            self.close_reason = ws.close_reason
            self.closed_by_server = not self._hanging_up
            if self._sender is not None:
                self._sender.cancel()

    def _on_message(self, raw: str | bytes) -> None:
        t = now()
        try:
            msg = json.loads(raw)
            event = msg.get("event") if isinstance(msg, dict) else None
        except ValueError:
            msg, event = raw, None
        record: dict[str, Any] = {"t": t, "event": event, "msg": msg}
        if event == "media":
            try:
                audio = base64.b64decode(msg.get("media", {}).get("payload", ""))
            except ValueError:
                audio = b""
            record["audio"] = audio
            record["voiced"] = rms_ulaw(audio) > VOICED_RMS
            self._playout_end = max(t, self._playout_end) + len(audio) / SAMPLE_RATE
        elif event == "mark":
            name = str(msg.get("mark", {}).get("name", ""))
            self._pending_marks.append((max(t, self._playout_end), name))
        elif event == "clear":
            self._playout_end = t
            self._pending_marks = [(t, name) for _, name in self._pending_marks]
        self.received.append(record)

    # -- helpers for assertions ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the socket has closed (by either side)."""
        return self.closed_t is not None

    def events(self, event: str) -> list[dict[str, Any]]:
        """Received records of one event type ("media", "clear", "mark", ...)."""
        return [r for r in self.received if r["event"] == event]

    def media_count(self) -> int:
        """Number of media messages received from the bot."""
        return len(self.events("media"))

    def clears(self) -> list[dict[str, Any]]:
        """``clear`` messages received (one per barge-in)."""
        return self.events("clear")

    def bot_audio(self, after_t: float = float("-inf"), before_t: float = float("inf")) -> bytes:
        """The bot's mu-law audio received between two times."""
        return b"".join(r["audio"] for r in self.events("media") if after_t < r["t"] < before_t)

    def bot_audio_bytes(self) -> int:
        """Total mu-law bytes received from the bot (8000 per second)."""
        return sum(len(r["audio"]) for r in self.events("media"))

    def first_media_t(self, voiced_only: bool = False) -> float | None:
        """Time of the first media message received (None if none yet)."""
        for r in self.events("media"):
            if r["voiced"] or not voiced_only:
                return float(r["t"])
        return None

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 (a polling helper: the deadline is its point)
        what: str = "condition",
    ) -> None:
        """Poll ``predicate`` every 10 ms; raise TimeoutError after ``timeout`` seconds."""
        deadline = now() + timeout
        while not predicate():
            if now() >= deadline:
                raise TimeoutError(f"{what} not met within {timeout} s (call {self.call_sid})")
            await asyncio.sleep(0.01)

    async def wait_for_bot_audio(
        self,
        after_t: float,
        timeout: float = 10.0,  # noqa: ASYNC109
        voiced_only: bool = False,
    ) -> float:
        """Wait for a media message received after ``after_t``; return its time."""
        found: list[float] = []

        def arrived() -> bool:
            for r in reversed(self.received):
                if r["t"] <= after_t:
                    break
                if r["event"] == "media" and (r["voiced"] or not voiced_only):
                    found.append(r["t"])
            return bool(found)

        await self.wait_for(arrived, timeout, "bot audio")
        return min(found)

    async def wait_for_bot_silence(
        self,
        quiet_s: float = 0.6,
        timeout: float = 15.0,  # noqa: ASYNC109
        voiced_only: bool = False,
    ) -> float | None:
        """Wait until no media arrived for ``quiet_s``; return the last media time (or None)."""
        started = now()

        def last_media_t() -> float | None:
            for r in reversed(self.received):
                if r["event"] == "media" and (r["voiced"] or not voiced_only):
                    return float(r["t"])
            return None

        def quiet() -> bool:
            last = last_media_t()
            return now() - (started if last is None else last) >= quiet_s

        await self.wait_for(quiet, timeout, f"{quiet_s} s of bot silence")
        return last_media_t()
