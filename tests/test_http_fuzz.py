"""Property-based fuzzing of every HTTP route of the real server (reliability.md section 7, #26).

Hypothesis generates, per route, bodies (Twilio-shaped forms with hostile values, JSON of any
shape, raw bytes under any content type), headers (bad signatures, odd content types) and query
strings, and sends them to the real server over HTTP. The properties:
- no answer is a 5xx, and every answer comes within the client timeout (no hang);
- an unsigned or wrongly signed request writes nothing: every table keeps its row count;
- a correctly signed Twilio request with garbage values still gets a 2xx or 4xx.
The route table is checked against the decorators in the source, so a new route cannot be left
out of the fuzzing.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TIMEOUT = httpx.Timeout(10.0)
PAGE_TOKEN = "http-fuzz-page-token"

TWILIO_FORMS = [
    "/twilio/voice",
    "/twilio/recording",
    "/twilio/call-status",
    "/twilio/sms",
    "/twilio/stream-status",
]
GETS = ["/health", "/ready", "/metrics", "/", "/api/profiles"]
JSON_BODIES = [("POST", "/api/offer"), ("PATCH", "/api/offer")]
# Routes served by something other than a decorated handler, or not plain HTTP.
NOT_FUZZED_HERE = {("WEBSOCKET", "/twilio/ws")}  # tests/test_media_stream_fuzz.py
MOUNTS = ["/web"]  # static files of the test page


def declared_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every route decorator in server.py and pipelines/webrtc_call.py."""
    found = set()
    for path in (ROOT / "server.py", ROOT / "pipelines" / "webrtc_call.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and isinstance(deco.func, ast.Attribute)
                    and deco.func.attr in ("get", "post", "patch", "put", "delete", "websocket")
                    and deco.args
                    and isinstance(deco.args[0], ast.Constant)
                ):
                    found.add((deco.func.attr.upper(), deco.args[0].value))
    return found


def test_every_route_is_fuzzed():
    fuzzed = (
        {("POST", p) for p in TWILIO_FORMS}
        | {("GET", p) for p in GETS}
        | set(JSON_BODIES)
        | NOT_FUZZED_HERE
    )
    assert declared_routes() == fuzzed


# ---- strategies ----------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
# HTTP forbids leading and trailing blanks in a header value; the client refuses to send them.
HEADER_VALUE = ASCII.map(str.strip)
SID_LIKE = st.one_of(
    TEXT,
    st.builds(lambda p, s: p + s, st.sampled_from(["CA", "RE", "SM", "MM", "MZ", "AC"]), ASCII),
    st.just("CA" + "0" * 32),
)
TWILIO_FIELDS = [
    "AccountSid",
    "CallSid",
    "From",
    "To",
    "Caller",
    "Called",
    "CallStatus",
    "Direction",
    "RecordingSid",
    "RecordingUrl",
    "RecordingStatus",
    "RecordingDuration",
    "MessageSid",
    "Body",
    "StreamSid",
    "StreamEvent",
    "StreamError",
    "Digits",
    "SequenceNumber",
    "CallDuration",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded; charset=utf-16",
    "",
]


@st.composite
def twilio_forms(draw) -> dict[str, str]:
    """Twilio's field names with hostile values, plus unknown fields."""
    fields = draw(st.lists(st.sampled_from(TWILIO_FIELDS), unique=True, max_size=12))
    form = {name: draw(st.one_of(SID_LIKE, TEXT)) for name in fields}
    extra = draw(st.dictionaries(ASCII.filter(bool), TEXT, max_size=4))
    return {**extra, **form}


JSONS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=20,
)
OFFER_LIKE = st.fixed_dictionaries(
    {"sdp": st.one_of(TEXT, st.just("v=0\r\n")), "type": st.sampled_from(["offer", "answer", "x"])},
    optional={
        "pc_id": st.one_of(st.none(), TEXT),
        "restart_pc": st.booleans(),
        "request_data": st.one_of(
            JSONS, st.fixed_dictionaries({}, optional={"profile": TEXT, "caller": TEXT})
        ),
        "candidates": st.lists(
            st.fixed_dictionaries(
                {"candidate": TEXT, "sdp_mid": TEXT, "sdp_mline_index": st.integers(-2, 5)}
            ),
            max_size=3,
        ),
    },
)
RAW = st.binary(max_size=2048)
QUERY = st.dictionaries(ASCII.filter(bool), ASCII, max_size=3)
SIGNATURE = st.one_of(st.none(), HEADER_VALUE, st.just("AAAAAAAAAAAAAAAAAAAAAAAAAAA="))


# ---- fixtures and checks -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(server_factory):
    # The page on, with a known API token, so its routes are fuzzed beyond a 404 or a 401.
    return server_factory(test_page_enabled="true", test_page_token=PAGE_TOKEN)


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=TIMEOUT) as c:
        yield c


def table_counts(server) -> dict[str, int]:
    names = [
        r["name"]
        for r in server.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r["name"].startswith("sqlite_")
    ]
    return {n: server.rows(f'SELECT COUNT(*) AS n FROM "{n}"')[0]["n"] for n in names}


def no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: "
        f"{response.text[:300]}"
    )


# ---- unsigned: nothing written -------------------------------------------------------------------


@FUZZ
@given(
    path=st.sampled_from(TWILIO_FORMS),
    form=twilio_forms(),
    signature=SIGNATURE,
    query=QUERY,
)
def test_unsigned_twilio_forms_never_fail_and_write_nothing(
    server, client, path, form, signature, query
):
    before = table_counts(server)
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    response = client.post(server.url + path, data=form, params=query, headers=headers)
    no_server_error(response)
    assert response.status_code in (400, 403), response.text
    assert table_counts(server) == before


@FUZZ
@given(
    path=st.sampled_from(TWILIO_FORMS + ["/api/offer"]),
    method=st.sampled_from(["POST", "PATCH", "PUT", "GET", "DELETE"]),
    body=RAW,
    content_type=st.sampled_from(CONTENT_TYPES),
    signature=SIGNATURE,
)
def test_raw_bodies_of_any_type_never_fail_and_write_nothing(
    server, client, path, method, body, content_type, signature
):
    before = table_counts(server)
    headers = {"Content-Type": content_type} if content_type else {}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = client.request(method, server.url + path, content=body, headers=headers)
    no_server_error(response)
    assert table_counts(server) == before


@FUZZ
@given(method=st.sampled_from(["POST", "PATCH"]), body=st.one_of(OFFER_LIKE, JSONS))
def test_offer_bodies_never_fail_or_echo(server, client, method, body):
    before = table_counts(server)
    marker = "FUZZ-ECHO-MARKER"
    if isinstance(body, dict):
        body = {**body, "extra": marker}
    response = client.request(
        method,
        server.url + "/api/offer",
        json=body,
        headers={"Authorization": f"Bearer {PAGE_TOKEN}"},
    )
    no_server_error(response)
    assert marker not in response.text
    assert table_counts(server) == before


@FUZZ
@given(
    path=st.one_of(
        st.sampled_from(GETS),
        st.builds(lambda parts: "/web/" + "/".join(parts), st.lists(ASCII, max_size=3)),
    ),
    query=QUERY,
    headers=st.dictionaries(
        st.sampled_from(
            ["Accept", "Authorization", "X-Forwarded-For", "X-Forwarded-Host", "Range"]
        ),
        HEADER_VALUE,
        max_size=3,
    ),
)
def test_reads_never_fail_and_write_nothing(server, client, path, query, headers):
    before = table_counts(server)
    response = client.get(server.url + re.sub(r"[?#]", "", path), params=query, headers=headers)
    no_server_error(response)
    assert table_counts(server) == before


# ---- signed: the handlers themselves get garbage -------------------------------------------------


@FUZZ
@given(path=st.sampled_from(TWILIO_FORMS), form=twilio_forms())
def test_signed_twilio_forms_with_garbage_values_never_fail(fakes, server, client, path, form):
    # Twilio's own account and our number: a request for another deployment is refused (403).
    form = {**form, "AccountSid": fakes.twilio.account_sid, "To": fakes.twilio_phone_number}
    url = server.public_base_url + path
    signature = RequestValidator(fakes.twilio.auth_token).compute_signature(url, form)
    response = client.post(server.url + path, data=form, headers={"X-Twilio-Signature": signature})
    no_server_error(response)
    assert response.status_code != 403, "a correctly signed request was refused"
    if response.status_code == 200:
        assert response.text.startswith("<?xml") or json.loads(response.text)
