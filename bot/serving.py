"""Several uvicorn worker processes, each accepting on its own socket.

uvicorn's workers share one listening socket, and the kernel hands a burst of new connections to
whichever worker is awake: with eight streams opened at once, one worker took all eight while the
other idled. With SO_REUSEPORT every worker binds its own socket to the same port and the kernel
spreads new connections across them by their addresses. uvicorn's supervisor (health checks,
restarts, signals) is kept; only what each worker listens on changes.

Shutdown drains first (`DrainingServer`): uvicorn's own shutdown closes every WebSocket at once
(code 1012), which would hang up on every live call. The first SIGTERM or SIGINT instead runs the
app's `bot.drain.Drain` (no new calls; live calls finish, or hear a goodbye after `DRAIN_SECS`)
and only then lets uvicorn shut down. The same class runs in the single process and in each
worker, which uvicorn's supervisor stops with SIGTERM. A second signal stops at once.

Pinned to uvicorn 0.54 (tests/test_serving_contract.py fails if these change): `Server.handle_exit`,
`_captured_signals`, `on_tick`, `shutdown`, `should_exit`, `config.loaded_app`;
`multiprocess.Process` (its `_server` and `server`), `Multiprocess.signal_queue`, `processes` and
`join_all`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from types import FrameType

import uvicorn
from loguru import logger
from uvicorn.supervisors import multiprocess

from bot.drain import Drain

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def find_drain(app: object) -> Drain | None:
    """The `Drain` of the app uvicorn serves (through any middleware wrapping it)."""
    for _ in range(8):
        state = getattr(getattr(app, "state", None), "app", None)
        drain = getattr(state, "drain", None)
        if isinstance(drain, Drain):
            return drain
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains live calls before it closes any connection."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._drain_requested = False
        self._drain_task: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # runs in the signal handler
        """Turn the first SIGTERM or SIGINT into a drain request; a second one stops at once."""
        if self._drain_requested or sig not in DRAIN_SIGNALS:
            super().handle_exit(sig, frame)  # a second signal: uvicorn's own (immediate) shutdown
            return
        self._captured_signals.append(sig)  # uvicorn re-raises it once the server has stopped
        self._drain_requested = True

    async def on_tick(self, counter: int) -> bool:
        """Start the drain once one was requested; otherwise uvicorn's own tick."""
        if self._drain_requested and self._drain_task is None:
            self._drain_task = asyncio.create_task(self._drain_then_exit())
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Abandon the calls still live, then close the server."""
        drain = find_drain(self.config.loaded_app)
        if drain is not None:
            drain.abandon()  # before uvicorn closes the calls' sockets
        await super().shutdown(sockets)

    async def _drain_then_exit(self) -> None:
        drain = find_drain(self.config.loaded_app)
        try:
            if drain is not None:
                await drain.run()
            else:
                logger.error("no call drain found on the app; shutting down at once")
        finally:
            self.should_exit = True


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port that other workers may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class OwnSocketWorker(multiprocess.Process):
    """A uvicorn worker that listens on a socket of its own instead of the parent's."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # in the worker
        """Run the worker on its own SO_REUSEPORT socket."""
        super().target([reuse_port_socket(self.config.host, self.config.port)])

    @property
    def server(self) -> uvicorn.Server:
        """This worker's server: a DrainingServer."""
        if self._server is None:
            self._server = DrainingServer(config=self.config)
        return self._server


class DrainingSupervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor, passing a second SIGTERM or SIGINT on to workers that are draining.

    uvicorn's own supervisor sends each worker one SIGTERM and then only waits, so a second
    signal (stop now) would never reach workers that take minutes to drain.
    """

    def join_all(self) -> None:
        """Wait for the workers, passing a second stop signal on to those still draining."""
        while any(p.process.is_alive() for p in self.processes):
            for sig in tuple(self.signal_queue):
                self.signal_queue.remove(sig)
                if sig in DRAIN_SIGNALS:
                    for process in self.processes:
                        if process.process.is_alive() and process.pid is not None:
                            os.kill(process.pid, signal.SIGTERM)
            time.sleep(0.2)
        super().join_all()


def serve_workers(config: uvicorn.Config) -> None:
    """Run `config.workers` processes under uvicorn's supervisor until it is told to stop."""
    multiprocess.Process = OwnSocketWorker  # type: ignore[misc]  # the supervisor builds workers from this name
    DrainingSupervisor(config, sockets=[]).run()
