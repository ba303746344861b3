"""Admission control over the wire: the call limit, slow clients, and streams that never start.

One server with two worker processes (the call limit must hold across them), a tiny call limit
(2), a 1.5 s request read deadline, a 20-connection limit per worker and at most 2 Media Streams
sockets per worker waiting 1 s for `start`.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fakes._base import now
from tests.fakes.openai import ScriptedLLM, Text
from tests.server_proc import METRICS_HEADERS
from tests.test_call_path import call_row, new_caller, wait_for_status

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 1.5
START_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def small_server(server_factory):
    return server_factory(
        max_calls=2,
        request_read_timeout_secs=READ_TIMEOUT,
        max_connections=20,
        workers=2,
        stream_start_timeout_secs=START_TIMEOUT,
        max_pending_streams=2,
        test_page_enabled="false",
    )


def _metric(server, name: str) -> float:
    text = httpx.get(server.url + "/metrics", headers=METRICS_HEADERS).text
    return sum(
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(name)
    )


async def test_over_the_limit_callers_get_voicemail_and_are_counted(fakes, small_server):
    server = small_server
    fakes.openai.responder = ScriptedLLM([], default=Text("Hello."))
    # Six webhooks at once for two places: exactly two are streamed, whatever the interleaving.
    callers = [new_caller(fakes, server) for _ in range(6)]
    responses = await asyncio.gather(*(c.dial() for c in callers))
    assert [r.status_code for r in responses] == [200] * 6
    streamed = [c for c, r in zip(callers, responses, strict=True) if "<Stream" in r.text]
    refused = [c for c in callers if c not in streamed]
    assert len(streamed) == 2
    for caller in refused:
        assert "<Record" in caller.twiml and "lines are busy" in caller.twiml
        row = call_row(server, caller.call_sid)
        assert (row["status"], row["end_reason"]) == ("FAILED", "over_capacity")
    # Twilio retrying a refused call's webhook gets the same answer, counted once.
    first_answer = refused[0].twiml
    assert (await refused[0].dial()).text == first_answer
    refused_metric = 'receptionist_calls_refused_total{reason="over_capacity"}'
    assert _metric(server, refused_metric) == 4

    # The admitted calls really run.
    await asyncio.gather(*(c.connect() for c in streamed))
    await asyncio.gather(*(c.wait_for_bot_audio(after_t=0, timeout=20) for c in streamed))
    # One ends: there is room for the next caller.
    await streamed[0].hangup()
    await wait_for_status(server, streamed[0].call_sid, "ABANDONED")
    late = new_caller(fakes, server)
    assert "<Stream" in (await late.dial()).text
    await late.connect()
    await late.wait_for_bot_audio(after_t=0, timeout=20)
    await late.hangup()
    await streamed[1].hangup()
    assert _metric(server, refused_metric) == 4


async def _read_until_closed(reader: asyncio.StreamReader, timeout: float) -> tuple[bytes, float]:  # noqa: ASYNC109
    data = b""
    async with asyncio.timeout(timeout):
        try:
            while chunk := await reader.read(4096):
                data += chunk
        except ConnectionError:  # closed while the client was still writing its body
            pass
    return data, now()


async def test_slow_headers_and_trickled_bodies_are_cut_off(small_server):
    host, port = urlsplit(small_server.url).hostname, urlsplit(small_server.url).port
    t0 = now()
    half_sent, trickled = [], []
    for _ in range(20):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST /twilio/voice HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        )
        trickled.append((reader, writer))
    for _ in range(60):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"POST /twilio/voice HTTP/1.1\r\nHost: x\r\nContent-Ty")
        half_sent.append((reader, writer))

    async def trickle(writer: asyncio.StreamWriter) -> None:
        try:
            while not writer.is_closing():
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.2)
        except (ConnectionError, OSError):
            pass

    tricklers = [asyncio.create_task(trickle(w)) for _, w in trickled]
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient() as client:
        # While they are held the connection limit answers at once instead of queueing.
        during = await client.get(small_server.url + "/health", timeout=5)
        assert during.status_code == 503
        results = await asyncio.gather(
            *(_read_until_closed(r, timeout=READ_TIMEOUT + 5) for r, _ in half_sent + trickled)
        )
        after = await client.get(small_server.url + "/health", timeout=5)
    for task in tricklers:
        task.cancel()
    for _, writer in half_sent + trickled:
        writer.close()
    held = [t - t0 for _, t in results]
    statuses = [data[9:12].decode() or "reset" for data, _ in results]
    print(
        f"\n80 slow connections closed by the server after {min(held):.2f}-{max(held):.2f} s: "
        + ", ".join(
            f"{statuses.count(s)} x {s} ({min(h for h, x in zip(held, statuses, strict=True) if x == s):.2f} s+)"
            for s in sorted(set(statuses))
        )
    )
    # Half-sent headers and trickled bodies time out (a 408 can be lost to a reset when the
    # client is still writing as the server closes).
    assert statuses[: len(half_sent)] == ["408"] * len(half_sent)
    assert set(statuses) <= {"408", "reset"} and "408" in statuses[len(half_sent) :]
    assert max(held) < READ_TIMEOUT + 2.0
    assert after.status_code == 200
    assert "Exception in ASGI application" not in small_server.log()


async def test_streams_that_never_start_are_closed_and_capped(fakes, small_server):
    url = small_server.public_base_url.replace("https://", "wss://") + "/twilio/ws"
    # Upgrades that never send `start`, opened until one is refused: each worker lets two wait.
    waiting, refused = [], None
    opened = now()
    for _ in range(10):
        caller = new_caller(fakes, small_server)
        try:
            await caller.connect(url=url, send_start=False)
        except Exception as exc:  # refused before accept: HTTP 403
            refused = exc
            break
        waiting.append(caller)
    assert refused is not None and "403" in str(refused)
    assert 2 <= len(waiting) <= 4
    for caller in waiting:
        await caller.wait_for(lambda c=caller: c.closed, timeout=START_TIMEOUT + 4, what="close")
        assert caller.close_code == 1008
    held = max(c.closed_t for c in waiting) - opened
    print(f"\nstreams without `start` closed after {held:.2f} s (limit {START_TIMEOUT} s)")
    assert held < START_TIMEOUT + 1.5
    # With the waiting sockets gone there is room again.
    again = new_caller(fakes, small_server)
    await again.connect(url=url, send_start=False)
    await again.wait_for(lambda: again.closed, timeout=START_TIMEOUT + 4, what="close")


async def test_oversized_headers_are_refused_without_being_buffered(small_server):
    host, port = urlsplit(small_server.url).hostname, urlsplit(small_server.url).port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100_000)
    await writer.drain()
    data, _ = await _read_until_closed(reader, timeout=5)
    writer.close()
    assert data.startswith(b"HTTP/1.1 431")
    async with httpx.AsyncClient() as client:
        assert (await client.get(small_server.url + "/health")).status_code == 200
