"""Slow or bloated requests cannot hold connections: a deadline and a cap on header size.

uvicorn times out idle keep-alive connections but never a request that is still arriving: a
client that sends half its headers, or trickles a body a byte at a time, holds its connection
(and, for a body, an application task) for as long as it likes. Here every request's headers and
body must arrive within `Settings.request_read_timeout_secs` of its first byte (of the connection
opening, for the first request); past that the client gets `408` and the connection is closed.
httptools has no limit on the size of headers either (20 MB of headers were buffered whole), so
more than `MAX_HEADER_BYTES` before the headers end gets `431` and a closed connection.

Invariants:
- The deadline covers reading a request only. It is disarmed once the request is complete, and
  for good at a WebSocket upgrade: a live call's socket is never subject to it.
- The response a handler is writing is never cut off: a request whose response has started is
  already complete.

Pinned to uvicorn's httptools protocol (uvicorn 0.54): `connection_made`, `data_received`,
`on_message_complete`, `handle_websocket_upgrade`, `connection_lost`, `transport`, `cycle`.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Twilio's webhooks carry a few KB of headers; browsers send well under 16 KB.
MAX_HEADER_BYTES = 64 * 1024
TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 17\r\n"
    b"connection: close\r\n\r\n"
    b"headers too large"
)
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\n"
    b"connection: close\r\n\r\n"
    b"request too slow"
)


class ReadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on reading each request."""

    def __init__(self, *args: Any, read_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout
        self._read_deadline: asyncio.TimerHandle | None = None
        self._upgraded = False
        self._header_bytes = 0  # bytes of the current request before its headers ended
        self._in_headers = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the deadline for the first request."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Re-arm for a kept-alive request, count header bytes, and reject oversized headers."""
        if self._read_deadline is None and not self._upgraded:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._in_headers and self._header_bytes > MAX_HEADER_BYTES and not self._upgraded:
            self._reject(TOO_LARGE_RESPONSE)

    def on_message_begin(self) -> None:
        """A new request starts: its header bytes are counted again."""
        super().on_message_begin()
        self._in_headers = True

    def on_headers_complete(self) -> None:
        """Headers ended: stop counting header bytes."""
        self._in_headers = False
        self._header_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request arrived in time: drop its deadline."""
        super().on_message_complete()
        self._disarm()

    def handle_websocket_upgrade(self) -> None:
        """A WebSocket has no read deadline: drop it before upgrading."""
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline of a closed connection."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self._read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _too_slow(self) -> None:
        self._read_deadline = None
        if not self._upgraded:
            self._reject(TIMEOUT_RESPONSE)

    def _reject(self, response: bytes) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(response)
        self.transport.close()


def protocol_with_read_timeout(seconds: float) -> partial[ReadDeadlineProtocol]:
    """The protocol factory for `uvicorn.Config(http=...)` (picklable, for worker processes)."""
    return partial(ReadDeadlineProtocol, read_timeout=seconds)
