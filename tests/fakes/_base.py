"""Server plumbing shared by the fakes: a loopback websockets server and a loopback aiohttp app."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time
from http import HTTPStatus
from urllib.parse import urlsplit

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

HOST = "127.0.0.1"


def now() -> float:
    """The clock every record's ``t`` uses (comparable across processes on Linux)."""
    return time.monotonic()


class WebSocketFake:
    """Base class: a websockets (new asyncio API) server on 127.0.0.1, port chosen by the OS.

    Subclasses set ``path_suffix`` (handshakes to any other path get a 404) and implement
    ``handle(ws, conn_id)``.

    Outages: ``refuse_until`` (a ``now()`` time) answers handshakes before it with HTTP
    ``refuse_status`` (503; 401 plays rejected credentials), each recorded in ``refused``; ``drop_connections(refuse_secs)`` resets every open connection
    (TCP RST, no close frame) and refuses new ones for ``refuse_secs``; ``hang_until`` holds
    handshakes before it unanswered (a provider that accepts TCP and then says nothing).
    """

    path_suffix: str = "/"

    def __init__(self) -> None:
        self.port: int = 0
        self._server: Server | None = None
        self._conn_ids = itertools.count(1)
        self._open: set[ServerConnection] = set()
        self.refuse_until = 0.0
        self.refuse_status = HTTPStatus.SERVICE_UNAVAILABLE
        self.hang_until = 0.0
        self.refused: list[dict] = []
        self.drops: list[dict] = []

    async def start(self) -> None:
        """Bind 127.0.0.1:0 and start serving; sets ``port``."""
        self._server = await serve(
            self._handle, HOST, 0, process_request=self._check_path, ping_interval=None
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and the listening socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _check_path(self, ws: ServerConnection, request: Request) -> Response | None:
        if now() < self.hang_until:
            self.refused.append({"t": now(), "path": request.path, "hung": True})
            await asyncio.sleep(self.hang_until - now())
        if not urlsplit(request.path).path.endswith(self.path_suffix):
            return ws.respond(HTTPStatus.NOT_FOUND, f"fake serves only *{self.path_suffix}\n")
        if now() < self.refuse_until:
            self.refused.append({"t": now(), "path": request.path})
            return ws.respond(HTTPStatus(self.refuse_status), "fake is refusing connections\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self._open.add(ws)
        try:
            await self.handle(ws, next(self._conn_ids))
        finally:
            self._open.discard(ws)

    async def drop_connections(self, refuse_secs: float = 0.0) -> int:
        """Reset every open connection (RST); refuse new ones for ``refuse_secs``. Returns how many."""
        self.refuse_until = now() + refuse_secs
        dropped = list(self._open)
        for ws in dropped:
            sock = ws.transport.get_extra_info("socket")
            if sock is not None:  # linger 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.transport.abort()
        self.drops.append({"t": now(), "count": len(dropped), "refuse_secs": refuse_secs})
        return len(dropped)

    def _reset_outages(self) -> None:
        self.refuse_until = 0.0
        self.refuse_status = HTTPStatus.SERVICE_UNAVAILABLE
        self.hang_until = 0.0
        self.refused.clear()
        self.drops.clear()

    async def handle(self, ws: ServerConnection, conn_id: int) -> None:
        """Serve one connection (implemented by subclasses)."""
        raise NotImplementedError


class HTTPFake:
    """Base class: an aiohttp application on 127.0.0.1, port chosen by the OS."""

    def __init__(self) -> None:
        self.port: int = 0
        self.app = web.Application()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind 127.0.0.1:0 and start serving; sets ``port``."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving (in-flight handlers get about a second to finish)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
