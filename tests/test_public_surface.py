"""What an anonymous client can reach on a default server, over the wire.

Default settings (tests/server_proc.py adds only METRICS_TOKEN): the test page, its assets and the
API docs do not exist; /metrics needs the bearer token; /health and /ready name no provider;
webhooks signed with our auth token but for another account or number are refused and write
nothing; a media stream whose `start` names another account is closed before any provider is
contacted. The periodic sweep's failures are logged and counted without stopping the SMS retry;
the failure is made in the database file itself (a trigger), as a broken disk or schema would.
"""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest

from tests.server_proc import METRICS_HEADERS, METRICS_TOKEN
from tests.test_call_path import _rejected, new_caller

pytestmark = pytest.mark.e2e

FOREIGN_SID = "AC" + "f" * 32
OTHER_NUMBER = "+15550109999"
PROVIDER_NAMES = ("deepgram", "openai", "cartesia", "twilio", "google")
STALE = "CA" + "5" * 32


@pytest.fixture(scope="module")
def server(server_factory):
    """Default settings, with a fast sweep so its failure shows within a second."""
    return server_factory(sweep_every_secs="0.3")


def metric(text: str, name: str) -> float:
    return sum(
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(name)
    )


async def wait_until(check, what: str, secs: float = 10.0):
    for _ in range(int(secs / 0.1)):
        if value := check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_test_page_and_api_docs_do_not_exist_by_default(server):
    http = httpx.Client(base_url=server.url, timeout=10)
    for path in ("/", "/web/app.js", "/web/style.css", "/web/index.html", "/api/profiles"):
        assert http.get(path).status_code == 404, path
    offer = {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"}
    assert http.post("/api/offer", json=offer).status_code == 404
    assert http.patch("/api/offer", json={"pc_id": "x", "candidates": []}).status_code == 404
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert http.get(path).status_code == 404, path
    assert server.rows("SELECT id FROM calls WHERE transport = 'webrtc'") == []
    assert "test page on" not in server.log()


def test_metrics_need_the_bearer_token(server):
    http = httpx.Client(base_url=server.url, timeout=10)
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get("/metrics", headers={"Authorization": METRICS_TOKEN}).status_code == 401
    scrape = http.get("/metrics", headers=METRICS_HEADERS)
    assert scrape.status_code == 200 and "receptionist_active_calls" in scrape.text
    assert METRICS_TOKEN not in server.log()


def test_health_and_ready_name_no_provider_without_the_token(server):
    http = httpx.Client(base_url=server.url, timeout=10)
    for path in ("/health", "/ready"):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = http.get(path, headers=headers)
            assert response.status_code == 200
            assert not any(name in response.text.lower() for name in PROVIDER_NAMES), response.text
    assert http.get("/ready").json() == {"ready": True, "draining": False}
    detailed = http.get("/ready", headers=METRICS_HEADERS).json()
    assert detailed["missing"] == [] and detailed["providers"]["deepgram"] is True


async def test_webhooks_for_another_account_are_refused_and_for_an_unknown_number_apologised(
    fakes, server
):
    foreign = new_caller(fakes, server)
    foreign.account_sid = FOREIGN_SID
    response = await foreign.dial()
    assert response.status_code == 403, response.text
    assert server.rows("SELECT id FROM calls WHERE call_sid = ?", (foreign.call_sid,)) == []
    # Our account, but a number no business here answers: the caller hears an apology, never
    # another business, and nothing is recorded.
    elsewhere = new_caller(fakes, server, to_number=OTHER_NUMBER)
    unaddressed = new_caller(fakes, server)
    for caller, extra in ((elsewhere, None), (unaddressed, {"To": ""})):
        response = await caller.dial(extra_params=extra)
        assert response.status_code == 200, response.text
        assert "<Say>Sorry, this number cannot take your call" in response.text
        assert "<Connect>" not in response.text and "<Record" not in response.text
        assert server.rows("SELECT id FROM calls WHERE call_sid = ?", (caller.call_sid,)) == []
    ours = new_caller(fakes, server)
    assert (await ours.dial()).status_code == 200  # the same harness, our account and number

    async def post(path: str, form: dict[str, str]) -> httpx.Response:
        signature = ours.sign(server.public_base_url + path, form)
        async with httpx.AsyncClient() as client:
            return await client.post(
                server.url + path, data=form, headers={"X-Twilio-Signature": signature}
            )

    sms = {"MessageSid": "SM" + "c" * 32, "From": "+18605550111", "Body": "ok"}
    foreign_sms = await post("/twilio/sms", sms | {"AccountSid": FOREIGN_SID, "To": ours.to_number})
    other_sms = await post(
        "/twilio/sms", sms | {"AccountSid": ours.account_sid, "To": OTHER_NUMBER}
    )
    assert foreign_sms.status_code == 403
    assert other_sms.status_code == 200 and "<Response />" in other_sms.text
    assert server.rows("SELECT * FROM inbound_sms") == []
    recording = {
        "AccountSid": FOREIGN_SID,
        "CallSid": ours.call_sid,
        "From": ours.from_number,
        "To": ours.to_number,
        "RecordingUrl": "https://api.twilio.com/recordings/RE1",
    }
    assert (await post("/twilio/recording", recording)).status_code == 403
    assert server.rows("SELECT * FROM messages") == []
    status = {
        "AccountSid": FOREIGN_SID,
        "CallSid": ours.call_sid,
        "StreamSid": "MZ" + "1" * 32,
        "StreamEvent": "stream-started",
    }
    assert (await post("/twilio/stream-status", status)).status_code == 403
    assert server.rows("SELECT * FROM audit_log WHERE action = 'stream.status'") == []
    log = server.log()
    assert "another Twilio account" in log and "no enabled business answers" in log
    assert OTHER_NUMBER not in log


async def test_a_stream_whose_start_names_another_account_is_closed(fakes, server):
    caller = new_caller(fakes, server)
    assert (await caller.dial()).status_code == 200
    await caller.connect(start_params_override={"accountSid": FOREIGN_SID})
    assert await _rejected(caller)
    await asyncio.sleep(0.5)
    assert [c for c in fakes.deepgram.connections if c["tag"] == caller.call_sid] == []
    assert fakes.cartesia.connections == []


async def test_a_failing_sweep_is_logged_and_counted_and_the_sms_retry_still_runs(fakes, server):
    db = sqlite3.connect(server.db_path, timeout=10)
    try:
        with db:
            db.execute(
                "INSERT INTO calls (id, call_sid, transport, profile, status, started_at)"
                " VALUES (?, ?, 'twilio', 'bristol_plumbing', 'ACTIVE', '2020-01-01T00:00:00+00:00')",
                (STALE, STALE),
            )
            db.execute(
                f"CREATE TRIGGER sweep_breaks BEFORE UPDATE ON calls WHEN OLD.id = '{STALE}'"
                " BEGIN SELECT RAISE(ABORT, 'the disk said no'); END"
            )
            db.execute(
                "INSERT INTO outbox (dedupe_key, kind, to_number, body, status, attempts,"
                " created_at) VALUES ('test:retry', 'alert', '+18605550199', 'Retry me',"
                " 'failed', 1, '2026-01-01T00:00:00+00:00')"
            )

        def scraped() -> str:
            return httpx.get(server.url + "/metrics", headers=METRICS_HEADERS).text

        failures = 'receptionist_background_failures_total{task="sweep"}'
        await wait_until(lambda: metric(scraped(), failures) >= 2, "two counted sweep failures")
        await wait_until(
            lambda: [m for m in fakes.twilio.messages if m["form"]["Body"] == "Retry me"],
            "the SMS retry, despite the sweep failing first",
        )
        log = server.log()
        assert "periodic sweep failed: IntegrityError" in log
        assert "the disk said no" not in log  # a static message and the type, nothing more
        assert metric(scraped(), 'receptionist_background_failures_total{task="outbox_retry"}') == 0
        with db:
            db.execute("DROP TRIGGER sweep_breaks")

        def swept() -> bool:
            rows = server.rows("SELECT status FROM calls WHERE id = ?", (STALE,))
            return rows[0]["status"] == "FAILED"

        await wait_until(swept, "the sweep to recover once the database is fixed")
    finally:
        db.close()


@pytest.fixture(scope="module")
def docs_server(server_factory):
    return server_factory(metrics_token="", api_docs_enabled="true")


def test_without_a_metrics_token_metrics_do_not_exist_and_docs_can_be_enabled(docs_server):
    http = httpx.Client(base_url=docs_server.url, timeout=10)
    assert http.get("/metrics").status_code == 404
    assert http.get("/metrics", headers=METRICS_HEADERS).status_code == 404
    assert http.get("/ready", headers=METRICS_HEADERS).json() == {"ready": True, "draining": False}
    assert http.get("/docs").status_code == 200 and http.get("/redoc").status_code == 200
    schema = http.get("/openapi.json").json()
    assert "/twilio/voice" in schema["paths"] and "/api/offer" not in schema["paths"]
