"""Fake Deepgram live-listen WebSocket (``/v1/listen``), as Pipecat's DeepgramSTTService speaks it.

Recognised text is scripted, but *when* a transcript comes is driven by the audio: a scripted line
is only released on ``Finalize`` (Pipecat sends it when the VAD says the user stopped) and only if
enough voiced audio arrived since the previous transcript. So the real turn-taking path
(VAD -> Finalize -> transcript -> smart-turn -> LLM) is exercised.

Usage::

    dg = FakeDeepgram()
    await dg.start()
    dg.scripts["CA123"] = ["Can you book me in for tomorrow morning?", "My name is John Smith."]
    stt = DeepgramSTTService(api_key="k", base_url=dg.url, tag="CA123")
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from ._base import WebSocketFake, now
from .dsp import VOICED_RMS, rms_pcm16

MODEL_UUID = "00000000-0000-4000-8000-00000000fa4e"


def results_message(
    transcript: str,
    *,
    is_final: bool,
    speech_final: bool = False,
    from_finalize: bool = False,
    start: float = 0.0,
    duration: float = 0.0,
    request_id: str = "fake-request",
) -> dict[str, Any]:
    """A ``Results`` message with every field deepgram-sdk 7.17 needs to parse it."""
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": round(duration, 3),
        "start": round(start, 3),
        "is_final": is_final,
        "speech_final": speech_final,
        "from_finalize": from_finalize,
        "channel": {
            "alternatives": [
                {"transcript": transcript, "confidence": 0.99 if transcript else 0.0, "words": []}
            ]
        },
        "metadata": {
            "request_id": request_id,
            "model_uuid": MODEL_UUID,
            "model_info": {"name": "fake-nova", "version": "0", "arch": "fake"},
        },
    }


def metadata_message(request_id: str, duration: float, channels: int = 1) -> dict[str, Any]:
    """The ``Metadata`` message Deepgram sends before closing a stream."""
    return {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": request_id,
        "sha256": "0" * 64,
        "created": datetime.now(UTC).isoformat(),
        "duration": round(duration, 3),
        "channels": channels,
        "models": [MODEL_UUID],
        "model_info": {MODEL_UUID: {"name": "fake-nova", "version": "0", "arch": "fake"}},
    }


@dataclass
class _Outgoing:
    due: float
    message: dict[str, Any] | None  # None closes the socket
    transcript: str | None = None  # set for scripted finals, recorded in transcripts_sent


@dataclass
class _Stream:
    """Per-connection state."""

    conn_id: int
    tag: str | None
    sample_rate: int
    channels: int
    request_id: str
    record: dict[str, Any]
    cursor: int = 0
    audio_bytes: int = 0
    voiced_s: float = 0.0
    last_voiced_end: float = float("-inf")
    in_tail: bool = False
    interim_sent: bool = False
    segment_start: float = 0.0
    outbox: asyncio.Queue[_Outgoing] = field(default_factory=asyncio.Queue)

    @property
    def audio_s(self) -> float:
        return self.audio_bytes / (2 * self.channels * self.sample_rate)


class FakeDeepgram(WebSocketFake):
    """Deepgram live transcription over WebSocket, scripted per ``tag`` query parameter.

    Records (lists of dicts, each with ``t``):
      - ``connections``: conn_id, path, query (dict, last value wins), authorization, tag,
        sample_rate; updated in place with ``audio_bytes`` and ``closed_t``.
      - ``messages``: JSON control messages received: conn_id, type (KeepAlive/Finalize/CloseStream).
      - ``transcripts_sent``: conn_id, tag, text (scripted finals actually sent).

    Behaviour knobs (plain attributes, restored by ``reset()``):
      - ``scripts`` (tag -> lines) and ``default_script``; looked up at each Finalize, so a
        script may be set after the connection opened. Each connection has its own cursor.
      - ``min_voiced_s`` (0.3): voiced audio needed since the last transcript to release a line.
      - ``utterance_gap_s`` (0.5): after a transcript, voiced audio that resumes within this gap
        belongs to the same utterance (e.g. after a comma pause split by the VAD) and is not
        counted towards the next line.
      - ``send_interims`` (True): one interim (first two words) per line once enough voice came.
      - ``latency_s`` + uniform(0, ``jitter_s``): delay before answering a Finalize.

    Every Finalize resets the voiced-audio count (Deepgram finalizes everything it has).
    Outages (``drop_connections``, ``refuse_until``): see ``WebSocketFake``. A new connection
    with the tag of a closed one continues that tag's script where the closed one stopped.
    """

    path_suffix = "/v1/listen"

    def __init__(self) -> None:
        super().__init__()
        self.connections: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.transcripts_sent: list[dict[str, Any]] = []
        self._resume: dict[str, int] = {}  # tag -> script cursor of its last closed connection
        self._set_defaults()

    def _set_defaults(self) -> None:
        self.scripts: dict[str, list[str]] = {}
        self.default_script: list[str] = []
        self.min_voiced_s = 0.3
        self.utterance_gap_s = 0.5
        self.voiced_rms = VOICED_RMS
        self.send_interims = True
        self.latency_s = 0.0
        self.jitter_s = 0.0

    @property
    def url(self) -> str:
        """Base URL for ``DeepgramSTTService(base_url=...)``; the SDK appends ``/v1/listen``."""
        return f"ws://127.0.0.1:{self.port}"

    async def reset(self) -> None:
        """Clear all records, scripts and knobs (open connections keep their cursors)."""
        self.connections.clear()
        self.messages.clear()
        self.transcripts_sent.clear()
        self._set_defaults()
        self._reset_outages()
        self._resume.clear()

    def sent_texts(self, tag: str | None = None) -> list[str]:
        """Texts of the scripted transcripts sent so far (optionally for one tag)."""
        return [r["text"] for r in self.transcripts_sent if tag is None or r["tag"] == tag]

    async def handle(self, ws: ServerConnection, conn_id: int) -> None:
        """Serve one live-transcription stream."""
        request = ws.request
        assert request is not None
        query = dict(parse_qsl(urlsplit(request.path).query))
        stream = _Stream(
            conn_id=conn_id,
            tag=query.get("tag"),
            sample_rate=int(query.get("sample_rate", "16000")),
            channels=int(query.get("channels", "1")),
            request_id=str(uuid.uuid4()),
            record={
                "t": now(),
                "conn_id": conn_id,
                "path": request.path,
                "query": query,
                "authorization": request.headers.get("Authorization"),
                "tag": query.get("tag"),
                "sample_rate": int(query.get("sample_rate", "16000")),
                "audio_bytes": 0,
                "closed_t": None,
            },
        )
        stream.cursor = self._resume.get(stream.tag, 0) if stream.tag else 0
        self.connections.append(stream.record)
        sender = asyncio.create_task(self._send_loop(ws, stream))
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    self._on_audio(stream, frame)
                else:
                    self._on_control(stream, frame)
        except ConnectionClosed:
            pass
        finally:
            stream.record["closed_t"] = now()
            if stream.tag:
                self._resume[stream.tag] = stream.cursor
            sender.cancel()

    def _on_audio(self, stream: _Stream, chunk: bytes) -> None:
        start = stream.audio_s
        stream.audio_bytes += len(chunk)
        stream.record["audio_bytes"] = stream.audio_bytes
        if rms_pcm16(chunk) <= self.voiced_rms:
            return
        if stream.in_tail and start - stream.last_voiced_end >= self.utterance_gap_s:
            stream.in_tail = False
        if not stream.in_tail:
            stream.voiced_s += stream.audio_s - start
        stream.last_voiced_end = stream.audio_s
        line = self._next_line(stream)
        if (
            self.send_interims
            and line is not None
            and not stream.interim_sent
            and stream.voiced_s >= self.min_voiced_s
        ):
            stream.interim_sent = True
            interim = " ".join(line.split()[:2])
            self._enqueue(stream, 0.0, self._results(stream, interim, is_final=False))

    def _on_control(self, stream: _Stream, text: str) -> None:
        try:
            msg_type = str(json.loads(text).get("type"))
        except (ValueError, AttributeError):
            msg_type = "<invalid>"
        self.messages.append({"t": now(), "conn_id": stream.conn_id, "type": msg_type})
        if msg_type == "Finalize":
            self._on_finalize(stream)
        elif msg_type == "CloseStream":
            meta = metadata_message(stream.request_id, stream.audio_s, stream.channels)
            self._enqueue(stream, 0.0, meta)
            self._enqueue(stream, 0.0, None)

    def _on_finalize(self, stream: _Stream) -> None:
        line = self._next_line(stream)
        delay = self.latency_s + random.uniform(0.0, self.jitter_s)
        if line is not None and stream.voiced_s >= self.min_voiced_s:
            stream.cursor += 1
            stream.in_tail = True
            msg = self._results(stream, line, is_final=True, speech_final=True, from_finalize=True)
            self._enqueue(stream, delay, msg, transcript=line)
        else:
            self._enqueue(
                stream, delay, self._results(stream, "", is_final=True, from_finalize=True)
            )
        stream.voiced_s = 0.0
        stream.interim_sent = False
        stream.segment_start = stream.audio_s

    def _next_line(self, stream: _Stream) -> str | None:
        script = self.scripts.get(stream.tag or "", self.default_script)
        return script[stream.cursor] if stream.cursor < len(script) else None

    def _results(self, stream: _Stream, transcript: str, **flags: bool) -> dict[str, Any]:
        return results_message(
            transcript,
            start=stream.segment_start,
            duration=stream.audio_s - stream.segment_start,
            request_id=stream.request_id,
            **flags,
        )

    @staticmethod
    def _enqueue(
        stream: _Stream, delay: float, message: dict[str, Any] | None, transcript: str | None = None
    ) -> None:
        stream.outbox.put_nowait(_Outgoing(now() + delay, message, transcript))

    async def _send_loop(self, ws: ServerConnection, stream: _Stream) -> None:
        """Send queued answers in order, each no earlier than its due time."""
        try:
            while True:
                item = await stream.outbox.get()
                wait = item.due - now()
                if wait > 0:
                    await asyncio.sleep(wait)
                if item.message is None:
                    await ws.close()
                    return
                await ws.send(json.dumps(item.message))
                if item.transcript is not None:
                    self.transcripts_sent.append(
                        {
                            "t": now(),
                            "conn_id": stream.conn_id,
                            "tag": stream.tag,
                            "text": item.transcript,
                        }
                    )
        except ConnectionClosed:
            pass
