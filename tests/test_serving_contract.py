"""The uvicorn internals that bot/serving.py and bot/read_timeouts.py build on are still there."""

from __future__ import annotations

import inspect

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.supervisors import multiprocess

from bot.serving import DrainingServer


def test_server_hooks_the_drain_relies_on():
    server = DrainingServer(uvicorn.Config(app=None))
    for name in ("_captured_signals", "should_exit", "force_exit"):
        assert hasattr(server, name), name
    for name in ("handle_exit", "on_tick", "shutdown", "main_loop"):
        assert inspect.isfunction(getattr(uvicorn.Server, name)), name
    assert "on_tick" in inspect.getsource(uvicorn.Server.main_loop)


def test_supervisor_hooks_the_drain_relies_on():
    assert "self.server.run" in inspect.getsource(multiprocess.Process.target)
    assert "_server" in inspect.getsource(multiprocess.Process.__init__)
    source = inspect.getsource(multiprocess.Multiprocess)
    for name in ("self.signal_queue", "self.processes", "def join_all", "self.join_all()"):
        assert name in source, name


def test_protocol_hooks_the_read_deadline_relies_on():
    for name in (
        "connection_made",
        "data_received",
        "on_message_begin",
        "on_headers_complete",
        "on_message_complete",
        "handle_websocket_upgrade",
        "connection_lost",
    ):
        assert inspect.isfunction(getattr(HttpToolsProtocol, name)), name
    assert "response_started" in inspect.getsource(RequestResponseCycle.__init__)
    assert "handle_websocket_upgrade" in inspect.getsource(HttpToolsProtocol.data_received)
