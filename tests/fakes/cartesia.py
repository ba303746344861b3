"""Fake Cartesia TTS WebSocket (``/tts/websocket``), as Pipecat's CartesiaTTSService speaks it.

"Speech" is a sine tone, 0.1 s per word + 0.1 s, at ``freq_for(text)`` Hz (440 by default), so a
test can tell whose audio reached a caller with ``dsp.dominant_freq_pcm16`` / ``caller.dominant_freq``.
Reading and sending run in separate tasks, so a ``cancel`` is honoured while audio is streaming.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from ._base import WebSocketFake, now
from .dsp import sine_pcm16

SECS_PER_WORD = 0.1  # brisk speech keeps real-time tests short
SECS_PADDING = 0.1
CHUNK_SECS = 0.04
AMPLITUDE = 8000


def default_freq(text: str) -> float:
    """The default tone: 440 Hz for everything."""
    return 440.0


def hashed_freq(text: str, low: int = 300, high: int = 3000, step: int = 100) -> float:
    """A stable per-text tone in [low, high) Hz, ``step`` apart (usable as ``freq_for``)."""
    buckets = (high - low) // step
    return float(low + step * (zlib.crc32(text.encode()) % buckets))


@dataclass
class _Job:
    context_id: str
    text: str | None  # None: the context is finished, send "done"
    sample_rate: int = 24000


class _Connection:
    """Per-connection state shared by the reader and the sender."""

    def __init__(self, conn_id: int) -> None:
        self.conn_id = conn_id
        self.jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self.cancelled: set[str] = set()
        self.offsets: dict[str, float] = {}  # context_id -> seconds of audio already produced


class FakeCartesia(WebSocketFake):
    """Cartesia streaming TTS over WebSocket.

    Records (lists of dicts, each with ``t``):
      - ``connections``: conn_id, path, api_key (X-API-Key), cartesia_version (Cartesia-Version).
      - ``messages``: conn_id, msg (every JSON message received, parsed; raw text if not JSON).
      - ``synthesized``: conn_id, context_id, text (when synthesis of a transcript starts).
      - ``cancels``: conn_id, context_id.
      - ``done_sent``: conn_id, context_id.

    Knobs (restored by ``reset()``): ``freq_for(text) -> Hz``, ``first_audio_latency_s``
    (+ uniform(0, ``first_audio_jitter_s``)) before the first chunk of each transcript message;
    ``silent``: keep accepting transcripts (recorded in ``synthesized``) but send no audio, no
    timestamps and no ``done`` (a provider that hangs). Outages: see ``WebSocketFake``.
    """

    path_suffix = "/tts/websocket"

    def __init__(self) -> None:
        super().__init__()
        self.connections: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.synthesized: list[dict[str, Any]] = []
        self.cancels: list[dict[str, Any]] = []
        self.done_sent: list[dict[str, Any]] = []
        self._set_defaults()

    def _set_defaults(self) -> None:
        self.freq_for: Callable[[str], float] = default_freq
        self.first_audio_latency_s = 0.0
        self.first_audio_jitter_s = 0.0
        self.silent = False

    @property
    def url(self) -> str:
        """Full URL for ``CartesiaTTSService(url=...)``."""
        return f"ws://127.0.0.1:{self.port}/tts/websocket"

    async def reset(self) -> None:
        """Clear all records and restore the default tone and latency."""
        for records in (
            self.connections,
            self.messages,
            self.synthesized,
            self.cancels,
            self.done_sent,
        ):
            records.clear()
        self._set_defaults()
        self._reset_outages()

    def spoken_texts(self, context_id: str | None = None) -> list[str]:
        """Transcripts synthesized so far (optionally for one context)."""
        return [
            r["text"]
            for r in self.synthesized
            if context_id is None or r["context_id"] == context_id
        ]

    async def handle(self, ws: ServerConnection, conn_id: int) -> None:
        """Serve one TTS connection: read in this task, send in another."""
        request = ws.request
        assert request is not None
        self.connections.append(
            {
                "t": now(),
                "conn_id": conn_id,
                "path": request.path,
                "api_key": request.headers.get("X-API-Key"),
                "cartesia_version": request.headers.get("Cartesia-Version"),
            }
        )
        conn = _Connection(conn_id)
        sender = asyncio.create_task(self._send_loop(ws, conn))
        try:
            async for raw in ws:
                self._on_message(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()

    def _on_message(self, conn: _Connection, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            self.messages.append({"t": now(), "conn_id": conn.conn_id, "msg": raw})
            return
        self.messages.append({"t": now(), "conn_id": conn.conn_id, "msg": msg})
        if not isinstance(msg, dict):
            return
        context_id = str(msg.get("context_id", ""))
        if msg.get("cancel"):
            conn.cancelled.add(context_id)
            self.cancels.append({"t": now(), "conn_id": conn.conn_id, "context_id": context_id})
            return
        if context_id in conn.cancelled:
            return
        transcript = msg.get("transcript") or ""
        if transcript.strip():
            rate = int((msg.get("output_format") or {}).get("sample_rate", 24000))
            conn.jobs.put_nowait(_Job(context_id, transcript, rate))
        if msg.get("continue") is False:
            conn.jobs.put_nowait(_Job(context_id, None))

    async def _send_loop(self, ws: ServerConnection, conn: _Connection) -> None:
        try:
            while True:
                job = await conn.jobs.get()
                if job.context_id in conn.cancelled:
                    continue
                if self.silent:
                    if job.text is not None:
                        self.synthesized.append(
                            {
                                "t": now(),
                                "conn_id": conn.conn_id,
                                "context_id": job.context_id,
                                "text": job.text,
                                "silent": True,
                            }
                        )
                    continue
                if job.text is None:
                    await ws.send(
                        json.dumps(
                            {
                                "type": "done",
                                "context_id": job.context_id,
                                "status_code": 200,
                                "done": True,
                            }
                        )
                    )
                    self.done_sent.append(
                        {"t": now(), "conn_id": conn.conn_id, "context_id": job.context_id}
                    )
                else:
                    await self._synthesize(ws, conn, job)
        except ConnectionClosed:
            pass

    async def _synthesize(self, ws: ServerConnection, conn: _Connection, job: _Job) -> None:
        assert job.text is not None
        delay = self.first_audio_latency_s + random.uniform(0.0, self.first_audio_jitter_s)
        if delay > 0:
            await asyncio.sleep(delay)
        ctx = job.context_id
        if ctx in conn.cancelled:
            return
        self.synthesized.append(
            {"t": now(), "conn_id": conn.conn_id, "context_id": ctx, "text": job.text}
        )

        words = job.text.split()
        duration = SECS_PER_WORD * len(words) + SECS_PADDING
        offset = conn.offsets.get(ctx, 0.0)
        conn.offsets[ctx] = offset + duration  # start times are cumulative within a context
        starts = [
            round(offset + SECS_PADDING / 2 + SECS_PER_WORD * i, 3) for i in range(len(words))
        ]
        timestamps = {
            "type": "timestamps",
            "context_id": ctx,
            "status_code": 206,
            "done": False,
            "word_timestamps": {
                "words": words,
                "start": starts,
                "end": [round(s + SECS_PER_WORD, 3) for s in starts],
            },
        }

        pcm = sine_pcm16(self.freq_for(job.text), duration, job.sample_rate, AMPLITUDE)
        chunk_bytes = 2 * int(job.sample_rate * CHUNK_SECS)
        for i in range(0, len(pcm), chunk_bytes):
            if ctx in conn.cancelled:
                return
            data = base64.b64encode(pcm[i : i + chunk_bytes]).decode()
            await ws.send(
                json.dumps(
                    {
                        "type": "chunk",
                        "context_id": ctx,
                        "data": data,
                        "status_code": 206,
                        "done": False,
                    }
                )
            )
            if i == 0:
                await ws.send(json.dumps(timestamps))
            await asyncio.sleep(0)
