"""Several uvicorn worker processes, each accepting on its own socket.

uvicorn's workers share one listening socket, and the kernel hands a burst of new connections to
whichever worker is awake: with eight streams opened at once, one worker took all eight while the
other idled. With SO_REUSEPORT every worker binds its own socket to the same port and the kernel
spreads new connections across them by their addresses. uvicorn's supervisor (health checks,
restarts, signals) is kept; only what each worker listens on changes.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import multiprocess


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
        super().target([reuse_port_socket(self.config.host, self.config.port)])


def serve_workers(config: uvicorn.Config) -> None:
    """Run `config.workers` processes under uvicorn's supervisor until it is told to stop."""
    multiprocess.Process = OwnSocketWorker  # type: ignore[misc]  # the supervisor builds workers from this name
    multiprocess.Multiprocess(config, sockets=[]).run()
