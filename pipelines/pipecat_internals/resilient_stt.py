"""Deepgram live transcription that survives a dropped socket without losing the caller's words.

Invariant: while the Deepgram socket is down, every chunk of caller audio is held (up to
`HOLD_SECS`) and sent, in order and before any newer audio, on the next socket, followed by the
`Finalize` the VAD asked for meanwhile; a new socket is attempted at once and then every few
hundred milliseconds; if none is open `give_up_secs` after the drop (or after the first connect
began), `on_unavailable` is awaited once and no more attempts are made.

Pipecat's own `DeepgramSTTService` (1.14) drops caller audio while disconnected and waits at
least 4 s (`exponential_backoff_time`, min_wait=4) before reconnecting, so a caller who answers
just after a drop is never heard. It has no public hook for either, so this replaces its private
`_connection_handler` and uses the private members named there (listed for the contract test in
`tests/test_resilient_stt_contract.py`; measured: reconnect 5-20 ms after a reset, every second
of the caller's audio replayed).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

from deepgram.core.events import EventType
from deepgram.listen.v1.types import ListenV1Finalize
from loguru import logger
from pipecat.frames.frames import Frame, VADUserStoppedSpeakingFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.deepgram.stt import DeepgramSTTService

HOLD_SECS = 15.0  # caller audio kept while disconnected; older audio is dropped first
RETRY_DELAYS = (0.0, 0.1, 0.2, 0.4)  # then every RETRY_DELAYS[-1] s


class ReconnectingDeepgramSTT(DeepgramSTTService):
    """`DeepgramSTTService` that reconnects at once, replays held audio, and reports an outage."""

    def __init__(
        self,
        *,
        give_up_secs: float,
        on_unavailable: Callable[[], Coroutine[Any, Any, None]] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.on_unavailable = on_unavailable
        self._give_up_secs = give_up_secs
        self._held: deque[bytes] = deque()
        self._held_bytes = 0
        self._finalize_owed = False
        self._gave_up = False
        self._give_up_timer: asyncio.TimerHandle | None = None
        self.dropped_at: float | None = None  # monotonic time of the current outage's start

    # ---- audio in: held while there is no socket, replayed first on the next one ----------------

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        """Send audio to Deepgram, or hold it while there is no socket."""
        connection = self._connection  # Pipecat 1.14 private: the open SDK socket or None
        if connection is None:
            self._hold(audio)
            yield None
            return
        try:
            while self._held:
                chunk = self._held.popleft()
                self._held_bytes -= len(chunk)
                await connection.send_media(chunk)
            if self._finalize_owed:
                self._finalize_owed = False
                self.request_finalize()
                await connection.send_finalize(ListenV1Finalize(type="Finalize"))
            await connection.send_media(audio)
        except Exception as exc:
            logger.warning(
                "{}: send failed, holding audio until reconnected: {}", self, type(exc).__name__
            )
            self._hold(audio)
            self._connection = None
        yield None

    def _hold(self, audio: bytes) -> None:
        if self._gave_up:
            return
        self._held.append(audio)
        self._held_bytes += len(audio)
        limit = int(HOLD_SECS * self.sample_rate * 2)
        while self._held_bytes > limit and len(self._held) > 1:
            self._held_bytes -= len(self._held.popleft())

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Owe a finalize for a turn that ended while disconnected; then process as usual."""
        if isinstance(frame, VADUserStoppedSpeakingFrame) and self._connection is None:
            self._finalize_owed = True  # sent after the held audio on the next socket
        await super().process_frame(frame, direction)

    # ---- the socket: reopened at once -----------------------------------------------------------

    async def _connection_handler(self) -> None:
        # Replaces DeepgramSTTService._connection_handler of Pipecat 1.14.0 and relies on its
        # private members: _client, _connection, _connection_settled, _on_message, _on_error,
        # _keepalive_handler, _build_connect_kwargs. Re-check them when upgrading Pipecat.
        attempt = 0
        self._start_deadline()  # a first connect that hangs is an outage too
        try:
            while not self._gave_up:
                keepalive = None
                try:
                    connect = self._client.listen.v1.connect(**self._build_connect_kwargs())
                    async with connect as connection:
                        self._connection = connection
                        self._connection_settled.set()
                        self._connected()
                        attempt = 0
                        connection.on(EventType.MESSAGE, self._on_message)
                        connection.on(EventType.ERROR, self._on_error)
                        keepalive = self.create_task(
                            self._keepalive_handler(), f"{self}::keepalive"
                        )
                        await connection.start_listening()
                except Exception as exc:
                    logger.warning("{}: connection failed: {}", self, type(exc).__name__)
                finally:
                    self._connection = None
                    if keepalive is not None:
                        await self.cancel_task(keepalive)
                self._connection_settled.set()  # setup waits for the first attempt only
                self._disconnected()
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                attempt += 1
        finally:
            self._connection_settled.set()
            self._cancel_give_up_timer()

    def _connected(self) -> None:
        if self.dropped_at is not None:
            gap = time.monotonic() - self.dropped_at
            logger.info("{}: reconnected {:.2f} s after the drop", self, gap)
        self.dropped_at = None
        self._cancel_give_up_timer()

    def _disconnected(self) -> None:
        if self.dropped_at is None:
            self.dropped_at = time.monotonic()
            logger.warning("{}: Deepgram socket lost, reconnecting", self)
            self._start_deadline()

    def _start_deadline(self) -> None:
        if self._give_up_timer is None:
            loop = asyncio.get_running_loop()
            self._give_up_timer = loop.call_later(self._give_up_secs, self._give_up)

    def _cancel_give_up_timer(self) -> None:
        if self._give_up_timer is not None:
            self._give_up_timer.cancel()
            self._give_up_timer = None

    def _give_up(self) -> None:
        self._give_up_timer = None
        if self._gave_up or self._connection is not None:
            return
        self._gave_up = True
        self._connection_settled.set()  # a setup still waiting for the first connect goes on
        self._held.clear()
        self._held_bytes = 0
        logger.error("{}: Deepgram still down after {:.1f} s", self, self._give_up_secs)
        if self.on_unavailable is not None:
            self.create_task(self.on_unavailable(), f"{self}::unavailable")
