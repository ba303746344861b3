"""Request bodies are capped per route before anything parses them; invalid input is not echoed.

Over the wire: raw sockets against the real server, so the test controls exactly how much of a
body is sent and when (a client library would send it all first). Two servers: the WebRTC test
page on and off, since the limit must hold for a route that is not registered at all.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.request_limits import (
    DEFAULT_BODY_LIMIT,
    INVALID_REQUEST,
    ROUTE_BODY_LIMITS,
    body_limit_for,
    declared_length,
)
from tests.server_proc import port_of

SIXTEEN_MB = 16 * 1024 * 1024
TWILIO_LIMIT = dict(ROUTE_BODY_LIMITS)["/twilio/"]
OFFER_LIMIT = dict(ROUTE_BODY_LIMITS)["/api/offer"]
# Tables an unsigned or refused request must leave as they were.
TABLES = ("calls", "messages", "outbox", "audit_log", "stream_tokens", "inbound_sms")
# The test page's API token (TEST_PAGE_TOKEN); the 413 comes before it is looked at.
PAGE_TOKEN = "request-limits-page-token"
PAGE_AUTH = {"Authorization": f"Bearer {PAGE_TOKEN}"}


# ---- pure: which limit applies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/twilio/voice", TWILIO_LIMIT),
        ("/twilio/recording", TWILIO_LIMIT),
        ("/twilio/anything-not-routed", TWILIO_LIMIT),
        ("/api/offer", OFFER_LIMIT),
        ("/api/profiles", DEFAULT_BODY_LIMIT),
        ("/health", DEFAULT_BODY_LIMIT),
        ("/", DEFAULT_BODY_LIMIT),
        ("", DEFAULT_BODY_LIMIT),
    ],
)
def test_limit_is_chosen_by_path(path, limit):
    assert body_limit_for(path) == limit
    assert TWILIO_LIMIT <= 32 * 1024 and OFFER_LIMIT <= 64 * 1024


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([(b"content-length", b"12")], 12),
        ([(b"Content-Length", b" 16777216 ")], SIXTEEN_MB),
        ([(b"content-length", b"-1")], -1),
        ([(b"content-length", b"1e9")], -1),
        ([(b"transfer-encoding", b"chunked")], None),
    ],
)
def test_declared_length(headers, expected):
    assert declared_length(headers) == expected


# ---- over the wire -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page_on(server_factory):
    return server_factory(test_page_enabled="true", test_page_token=PAGE_TOKEN)


@pytest.fixture(scope="module")
def page_off(server_factory):
    return server_factory(test_page_enabled="false")


def counts(server) -> dict[str, int]:
    return {t: server.rows(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in TABLES}


def connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port_of(server)), timeout=5)
    sock.settimeout(5)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes, float]:
    """Status, headers, body (until the server closes) and seconds until the status line came."""
    t0 = time.monotonic()
    data = b""
    first_byte_t = None
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        first_byte_t = first_byte_t or time.monotonic()
        data += chunk
    assert data, "no response before the connection ended"
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body, (first_byte_t or t0) - t0


def request_head(path: str, *, content_type: str, length: int | None = None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    auth = "".join(f"{k}: {v}\r\n" for k, v in PAGE_AUTH.items()) if path == "/api/offer" else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"{auth}{framing}\r\n\r\n"
    ).encode()


ROUTES = [
    ("/twilio/voice", "application/x-www-form-urlencoded", b"CallSid=CA" + b"0" * 32 + b"&x="),
    ("/api/offer", "application/json", b'{"sdp": "v=0", "type": "offer", "x": [' + b"0," * 8),
]


@pytest.mark.e2e
@pytest.mark.parametrize("page", ["page_on", "page_off"])
@pytest.mark.parametrize(("path", "content_type", "start"), ROUTES)
def test_oversized_content_length_gets_413_before_the_body_is_sent(
    request, page, path, content_type, start
):
    server = request.getfixturevalue(page)
    before = counts(server)
    with connect(server) as sock:
        # 16 MB declared, only the first bytes sent: the answer must not wait for the rest.
        sock.sendall(request_head(path, content_type=content_type, length=SIXTEEN_MB) + start)
        status, headers, body, _ = read_response(sock)
    assert status == 413, body
    assert headers.get("connection") == "close"
    assert b"too large" in body
    assert counts(server) == before


@pytest.mark.e2e
@pytest.mark.parametrize("page", ["page_on", "page_off"])
@pytest.mark.parametrize(("path", "content_type", "start"), ROUTES)
def test_oversized_chunked_body_gets_413_as_soon_as_the_limit_is_passed(
    request, page, path, content_type, start
):
    server = request.getfixturevalue(page)
    before = counts(server)
    limit = body_limit_for(path)
    with connect(server) as sock:
        sock.sendall(request_head(path, content_type=content_type))
        sent, piece = 0, start + b"0" * (4096 - len(start))
        while sent <= limit:  # a little past the limit, then the client stalls mid-body
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
            piece = b"0" * 4096
        status, headers, body, _ = read_response(sock)
    if page == "page_off" and path == "/api/offer":
        # No such route: answered at once without reading a byte of the body.
        assert status == 404, body
    elif path == "/twilio/voice" and status == 400:
        # The form parser's 16 KB field cap can trip before the 32 KB body cap: refused either way.
        assert b"maximum size" in body
    else:
        assert status == 413, body
        assert headers.get("connection") == "close"
    assert counts(server) == before


@pytest.mark.e2e
def test_signed_webhook_under_the_limit_still_works_when_chunked(fakes, page_off):
    """The limit does not get in the way of a real Twilio request, however it is framed."""
    params = {
        "AccountSid": fakes.twilio.account_sid,
        "CallSid": "CA" + "c" * 32,
        "From": "+15551230077",
        "To": fakes.twilio_phone_number,
    }
    url = page_off.public_base_url + "/twilio/voice"
    signature = RequestValidator(fakes.twilio.auth_token).compute_signature(url, params)

    def chunks():
        yield httpx.QueryParams(params).__str__().encode()

    response = httpx.post(
        page_off.url + "/twilio/voice",
        content=chunks(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert response.status_code == 200 and "<Connect>" in response.text
    assert page_off.rows("SELECT status FROM calls WHERE call_sid = ?", (params["CallSid"],))


@pytest.mark.e2e
def test_too_many_form_fields_are_refused_before_the_signature_check(page_off):
    before = counts(page_off)
    body = "&".join(f"f{i}=1" for i in range(1000))  # 8 KB: under the byte limit
    response = httpx.post(
        page_off.url + "/twilio/voice",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and "fields" in response.text
    assert counts(page_off) == before


@pytest.mark.e2e
def test_a_page_route_that_is_off_still_gets_the_limit_first(page_off):
    small = httpx.post(page_off.url + "/api/offer", json={"sdp": "v=0", "type": "offer"})
    big = httpx.post(page_off.url + "/api/offer", content=b"[" + b"0," * OFFER_LIMIT + b"0]")
    assert small.status_code == 404
    assert big.status_code == 413


@pytest.mark.e2e
def test_validation_errors_do_not_echo_the_input(page_on):
    marker = "ECHO-ME-" + "x" * 2000
    bodies = [
        {"sdp": [marker], "type": "offer"},
        {"sdp": "v=0", "type": marker},
        {"sdp": "v=0", "type": "offer", "pc_id": {"nested": marker}},
        [marker] * 10,
    ]
    for body in bodies:
        response = httpx.post(page_on.url + "/api/offer", json=body, headers=PAGE_AUTH)
        assert response.status_code == 422, response.text
        assert response.json() == {"detail": INVALID_REQUEST}
        assert "ECHO-ME" not in response.text and len(response.content) < 100
    patch = httpx.patch(
        page_on.url + "/api/offer",
        json={"pc_id": marker, "candidates": marker},
        headers=PAGE_AUTH,
    )
    assert patch.status_code == 422 and "ECHO-ME" not in patch.text
    # Not JSON at all: the same short answer.
    raw = httpx.post(
        page_on.url + "/api/offer",
        content=marker.encode() + b"{",
        headers={"Content-Type": "application/json", **PAGE_AUTH},
    )
    assert raw.status_code == 422 and "ECHO-ME" not in raw.text
    assert json.loads(raw.text) == {"detail": INVALID_REQUEST}
