"""Several worker processes behave as one server: tokens, idempotency and metrics live outside them.

The server runs with WORKERS=2, each worker on its own SO_REUSEPORT socket, so the kernel spreads
connections across them by address: with a dozen calls both workers take some (checked from the
Deepgram sockets each worker holds), webhooks and streams of one call often land on different
workers, and everything asserted must hold whichever worker answered.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from tests.fakes.openai import ScriptedLLM, Text
from tests.server_proc import METRICS_HEADERS, listens_on, port_of, worker_processes
from tests.test_call_path import _rejected, new_caller, wait_for_status

CALLS = 12


@pytest.fixture(scope="module")
def two_workers(server_factory):
    return server_factory(workers=2, test_page_enabled="false")


def _holds_socket_to(worker: psutil.Process, port: int) -> bool:
    return any(
        c.raddr and c.raddr.port == port and c.status == "ESTABLISHED"
        for c in worker.net_connections(kind="tcp")
    )


def _metric(text: str, name: str) -> float:
    return sum(
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(name)
    )


async def test_calls_spread_over_workers_that_share_tokens_idempotency_and_metrics(
    fakes, two_workers
):
    fakes.openai.responder = ScriptedLLM([], default=Text("Hello there."))
    server = two_workers
    workers = worker_processes(server)
    assert len(workers) == 2
    port = port_of(server)
    for _ in range(300):  # the server is healthy once one worker is up; wait for both
        if all(listens_on(w, port) for w in workers):
            break
        await asyncio.sleep(0.1)

    # A retried webhook, five times at once on separate connections: one call, the same TwiML.
    retried = new_caller(fakes, server)
    responses = await asyncio.gather(*(retried.dial() for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert len({r.text for r in responses}) == 1
    assert len(server.rows("SELECT * FROM calls WHERE call_sid = ?", (retried.call_sid,))) == 1

    # Every stream is accepted whichever worker issued its token, and both workers run calls.
    callers = [retried] + [new_caller(fakes, server) for _ in range(CALLS - 1)]
    dialled = await asyncio.gather(*(c.dial() for c in callers[1:]))
    assert [r.status_code for r in dialled] == [200] * (CALLS - 1)
    await asyncio.gather(*(c.connect() for c in callers))
    await asyncio.gather(*(c.wait_for_bot_audio(after_t=0, timeout=20) for c in callers))
    stt_port = urlsplit(fakes.deepgram.url).port
    assert all(_holds_socket_to(w, stt_port) for w in workers), "one worker took every call"

    # A used token is refused on fresh connections, whichever worker takes them.
    for _ in range(4):
        replay = new_caller(fakes, server, call_sid=retried.call_sid)
        await replay.connect(url=retried.stream_url, params=retried.stream_params)
        assert await _rejected(replay)

    for caller in callers:
        await caller.hangup()
    for caller in callers:
        await wait_for_status(server, caller.call_sid, "ABANDONED")  # nobody said anything

    # /metrics reports every worker's calls, whichever worker serves the scrape.
    async with httpx.AsyncClient() as http:
        texts = []
        for _ in range(6):
            headers = {"Connection": "close"} | METRICS_HEADERS
            response = await http.get(server.url + "/metrics", headers=headers)
            texts.append(response.text)
    for text in texts:
        assert _metric(text, 'receptionist_calls_total{status="ABANDONED"}') == CALLS
        assert _metric(text, "receptionist_time_to_greeting_seconds_count") >= CALLS
