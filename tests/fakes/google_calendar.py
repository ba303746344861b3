"""Fake Google Calendar REST API (v3) and OAuth token endpoint, for the real google-api-python-client.

Point the client at it with ``build("calendar", "v3", http=..., client_options={"api_endpoint":
fake.api_endpoint})`` (``GOOGLE_CALENDAR_BASE_URL``); the bundled discovery document supplies
the paths. Tokens come from a service-account JSON whose ``token_uri`` is this fake's ``/token``
(``fake.service_account_info()``), so the production code path does the JWT-bearer exchange
here: the fake checks the assertion's RS256 signature against the key it generated, its issuer
and its scopes, then hands out ``fake-access-token-<n>``. Every calendar request must carry one.

Served, as Google does them:
  - ``POST   /calendar/v3/calendars/{cal}/events``           insert (client ids must be base32hex,
    5-1024 chars; an id that exists, even cancelled, gets 409 ``duplicate``)
  - ``GET    /calendar/v3/calendars/{cal}/events/{id}``      get (cancelled events too)
  - ``GET    /calendar/v3/calendars/{cal}/events``           list (timeMin/timeMax overlap,
    ``privateExtendedProperty=k=v`` filters, ``showDeleted``, ``singleEvents``, ordered by start)
  - ``PATCH``/``PUT /calendar/v3/calendars/{cal}/events/{id}`` patch/update, ``If-Match`` -> 412
  - ``DELETE /calendar/v3/calendars/{cal}/events/{id}``      delete (``If-Match``; -> cancelled,
    a second delete gets 410)
  - ``POST   /calendar/v3/freeBusy``                         merged busy intervals per calendar
  - ``POST   /token``                                        JWT-bearer grant

Records: ``requests`` [{t, op, method, path, query, body, authorization, if_match, status}] and
``token_requests`` [{t, claims, status}]. State: ``events[(calendar_id, event_id)]``.

Knobs (cleared by ``reset()``): ``fail_next(status, n=1, reason=None, op=None, apply=False)``
answers the next ``n`` matching requests with a Google error (``apply=True`` performs the change
first, i.e. the response is lost); ``hang_next(n=1, op=None, apply=False)`` holds matching
requests until ``reset()`` (or ``hang_secs``). ``add_event(...)`` and ``edit_event(...)`` play
the owner typing in the Calendar UI.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ._base import HTTPFake, now

DEFAULT_CALENDAR_ID = "bookings@group.calendar.google.com"
SA_EMAIL = "receptionist@fake-project.iam.gserviceaccount.com"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
_BASE32HEX = re.compile(r"^[a-v0-9]{5,1024}$")
_REASONS = {
    400: ("badRequest", "Bad Request"),
    401: ("authError", "Invalid Credentials"),
    403: ("forbidden", "Forbidden"),
    404: ("notFound", "Not Found"),
    409: ("duplicate", "The requested identifier already exists."),
    410: ("deleted", "Resource has been deleted"),
    412: ("conditionNotMet", "Precondition Failed"),
    429: ("rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("backendError", "Backend Error"),
    503: ("backendError", "Service Unavailable"),
}


def google_error(
    status: int, reason: str | None = None, message: str | None = None
) -> web.Response:
    """An error body in Google's JSON shape."""
    default_reason, default_message = _REASONS.get(status, ("unknown", "Error (fake)"))
    reason = reason or default_reason
    message = message or default_message
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
        }
    }
    return web.json_response(body, status=status)


def _rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """RFC 3339 -> aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _span(event: dict[str, Any]) -> tuple[datetime, datetime] | None:
    start, end = event.get("start") or {}, event.get("end") or {}
    if "dateTime" in start and "dateTime" in end:
        return parse_time(start["dateTime"]), parse_time(end["dateTime"])
    if "date" in start and "date" in end:
        return (
            datetime.fromisoformat(start["date"]).replace(tzinfo=UTC),
            datetime.fromisoformat(end["date"]).replace(tzinfo=UTC),
        )
    return None


@dataclass
class _Plan:
    kind: str  # "fail" | "hang"
    status: int
    reason: str | None
    op: str | None
    apply: bool
    left: int


class FakeGoogleCalendar(HTTPFake):
    """Google Calendar v3 + the OAuth token endpoint on ``http://127.0.0.1:PORT``."""

    def __init__(self, calendar_ids: tuple[str, ...] = (DEFAULT_CALENDAR_ID,)) -> None:
        super().__init__()
        self.calendar_ids = set(calendar_ids)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._lock = threading.Lock()
        self._etags = itertools.count(1_000_001)
        self._tokens = itertools.count(1)
        self._release = asyncio.Event()
        self.requests: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.issued_tokens: set[str] = set()
        self.require_auth = True
        self.hang_secs = 60.0
        self._plans: list[_Plan] = []
        base = "/calendar/v3/calendars/{cal}/events"
        router = self.app.router
        router.add_post("/token", self._token)
        router.add_post(base, self._insert)
        router.add_get(base, self._list)
        router.add_get(base + "/{event_id}", self._get)
        router.add_patch(base + "/{event_id}", self._patch)
        router.add_put(base + "/{event_id}", self._update)
        router.add_delete(base + "/{event_id}", self._delete)
        router.add_post("/calendar/v3/freeBusy", self._freebusy)

    # ---- configuration ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Root URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_endpoint(self) -> str:
        """``client_options={"api_endpoint": ...}`` / ``GOOGLE_CALENDAR_BASE_URL``."""
        return f"{self.url}/calendar/v3/"

    @property
    def token_uri(self) -> str:
        """Where a service account exchanges its signed JWT for an access token."""
        return f"{self.url}/token"

    def service_account_info(self) -> dict[str, str]:
        """A service-account key file's contents, with ``token_uri`` pointing at this fake."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": "fake-key-1",
            "private_key": pem,
            "client_email": SA_EMAIL,
            "client_id": "100000000000000000001",
            "token_uri": self.token_uri,
        }

    async def reset(self) -> None:
        """Clear events, records, tokens and failure plans; release hung requests."""
        with self._lock:
            self.requests.clear()
            self.token_requests.clear()
            self.events.clear()
            self._plans.clear()
            self.require_auth = True
        self._release.set()
        self._release = asyncio.Event()

    def fail_next(
        self,
        status: int,
        n: int = 1,
        *,
        reason: str | None = None,
        op: str | None = None,
        apply: bool = False,
    ) -> None:
        """Answer the next ``n`` requests (of ``op``, if given) with a Google error."""
        with self._lock:
            self._plans.append(_Plan("fail", status, reason, op, apply, n))

    def hang_next(self, n: int = 1, *, op: str | None = None, apply: bool = False) -> None:
        """Hold the next ``n`` requests (of ``op``) until ``reset()`` or ``hang_secs``."""
        with self._lock:
            self._plans.append(_Plan("hang", 503, None, op, apply, n))

    def add_event(
        self,
        start: datetime,
        end: datetime,
        summary: str = "Blocked (added by hand)",
        calendar_id: str = DEFAULT_CALENDAR_ID,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """An event the owner typed into the Calendar UI (no extended properties)."""
        with self._lock:
            event_id = event_id or f"hand{next(self._etags)}"
            event = self._new_event(
                calendar_id,
                {
                    "id": event_id,
                    "summary": summary,
                    "start": {"dateTime": start.astimezone(UTC).isoformat()},
                    "end": {"dateTime": end.astimezone(UTC).isoformat()},
                },
            )
            self.events[(calendar_id, event_id)] = event
            return dict(event)

    def edit_event(
        self, event_id: str, calendar_id: str = DEFAULT_CALENDAR_ID, **changes: Any
    ) -> dict[str, Any]:
        """The owner edits an event by hand: fields replaced, a new etag."""
        with self._lock:
            event = self.events[(calendar_id, event_id)]
            event.update(changes)
            self._touch(event)
            return dict(event)

    def live_events(self, calendar_id: str = DEFAULT_CALENDAR_ID) -> list[dict[str, Any]]:
        """Events that are not cancelled, by start."""
        with self._lock:
            found = [
                dict(e)
                for (cal, _), e in self.events.items()
                if cal == calendar_id and e.get("status") != "cancelled"
            ]
        return sorted(found, key=lambda e: (_span(e) or (datetime.min.replace(tzinfo=UTC),))[0])

    def count(self, op: str, status: int | None = None) -> int:
        """How many requests of ``op`` arrived (answered with ``status``, if given)."""
        return sum(
            1 for r in self.requests if r["op"] == op and (status is None or r["status"] == status)
        )

    # ---- plumbing ---------------------------------------------------------------------------

    def _new_event(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        stamp = _rfc3339_now()
        event = {
            "kind": "calendar#event",
            "status": "confirmed",
            **body,
            "etag": "",
            "created": stamp,
            "updated": stamp,
            "htmlLink": f"https://calendar.example.test/event?eid={body['id']}",
            "organizer": {"email": calendar_id, "self": True},
            "creator": {"email": SA_EMAIL},
        }
        event["etag"] = f'"{next(self._etags)}"'
        return event

    def _touch(self, event: dict[str, Any]) -> None:
        event["etag"] = f'"{next(self._etags)}"'
        event["updated"] = _rfc3339_now()

    async def _begin(
        self, request: web.Request, op: str
    ) -> tuple[dict, web.Response | None, _Plan | None]:
        """Record the request, check auth and the calendar; pick a failure plan if one applies."""
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        record = {
            "t": now(),
            "op": op,
            "method": request.method,
            "path": unquote(request.path),
            "query": {
                k: request.query.getall(k) if len(request.query.getall(k)) > 1 else v
                for k, v in request.query.items()
            },
            "body": body,
            "authorization": request.headers.get("Authorization"),
            "if_match": request.headers.get("If-Match"),
            "status": None,
        }
        with self._lock:
            self.requests.append(record)
            plan = next((p for p in self._plans if p.op in (None, op)), None)
            if plan is not None:
                plan.left -= 1
                if plan.left <= 0:
                    self._plans.remove(plan)
        if self.require_auth:
            token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
            if token not in self.issued_tokens:
                return record, self._finish(record, google_error(401)), None
        cal = unquote(request.match_info.get("cal", "")) if "cal" in request.match_info else None
        if cal is not None and cal not in self.calendar_ids:
            return record, self._finish(record, google_error(404)), None
        if plan is not None and not plan.apply:
            return record, await self._planned(record, plan), None
        return record, None, plan

    async def _planned(self, record: dict, plan: _Plan) -> web.Response:
        if plan.kind == "hang":
            try:
                await asyncio.wait_for(self._release.wait(), self.hang_secs)
            except TimeoutError:
                pass
        return self._finish(record, google_error(plan.status, plan.reason))

    def _finish(self, record: dict, response: web.Response) -> web.Response:
        record["status"] = response.status
        return response

    async def _done(self, record: dict, response: web.Response, plan: _Plan | None) -> web.Response:
        """Send the response, unless a plan says it is lost after the change was applied."""
        if plan is not None and plan.apply and response.status < 300:
            return await self._planned(record, plan)
        return self._finish(record, response)

    # ---- token -------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        record: dict[str, Any] = {"t": now(), "grant_type": form.get("grant_type"), "claims": None}
        self.token_requests.append(record)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            record["status"] = 400
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = jwt.decode(
                str(form.get("assertion") or ""),
                self._key.public_key(),
                algorithms=["RS256"],
                # google-auth always signs for Google's endpoint, whatever token_uri says.
                audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
            )
        except jwt.PyJWTError:
            record["status"] = 400
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                status=400,
            )
        record["claims"] = claims
        if claims.get("iss") != SA_EMAIL or "calendar" not in str(claims.get("scope", "")):
            record["status"] = 400
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = f"fake-access-token-{next(self._tokens)}"
        self.issued_tokens.add(token)
        record["status"] = 200
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        )

    # ---- events -----------------------------------------------------------------------------

    async def _insert(self, request: web.Request) -> web.Response:
        record, error, plan = await self._begin(request, "insert")
        if error is not None:
            return error
        body = record["body"]
        if not isinstance(body, dict) or "start" not in body or "end" not in body:
            return self._finish(record, google_error(400, "required", "Missing start or end."))
        cal = unquote(request.match_info["cal"])
        with self._lock:
            event_id = body.get("id") or f"{next(self._etags):x}".replace("f", "a") + "evt"
            if not _BASE32HEX.match(event_id):
                return self._finish(
                    record, google_error(400, "invalid", "Invalid resource id value.")
                )
            if (cal, event_id) in self.events:
                return self._finish(record, google_error(409))
            event = self._new_event(cal, {**body, "id": event_id})
            self.events[(cal, event_id)] = event
            reply = dict(event)
        return await self._done(record, web.json_response(reply), plan)

    async def _get(self, request: web.Request) -> web.Response:
        record, error, plan = await self._begin(request, "get")
        if error is not None:
            return error
        key = (unquote(request.match_info["cal"]), request.match_info["event_id"])
        with self._lock:
            event = self.events.get(key)
            reply = dict(event) if event else None
        if reply is None:
            return self._finish(record, google_error(404))
        return await self._done(record, web.json_response(reply), plan)

    async def _list(self, request: web.Request) -> web.Response:
        record, error, plan = await self._begin(request, "list")
        if error is not None:
            return error
        cal = unquote(request.match_info["cal"])
        q = request.query
        time_min = parse_time(q["timeMin"]) if "timeMin" in q else None
        time_max = parse_time(q["timeMax"]) if "timeMax" in q else None
        show_deleted = q.get("showDeleted") == "true"
        wanted = [p.split("=", 1) for p in q.getall("privateExtendedProperty", [])]
        with self._lock:
            items = []
            for (c, _), event in self.events.items():
                if c != cal or (event.get("status") == "cancelled" and not show_deleted):
                    continue
                span = _span(event)
                if span and time_min and span[1] <= time_min:
                    continue
                if span and time_max and span[0] >= time_max:
                    continue
                private = (event.get("extendedProperties") or {}).get("private") or {}
                if any(private.get(k) != v for k, v in wanted):
                    continue
                items.append(dict(event))
        items.sort(key=lambda e: (_span(e) or (datetime.min.replace(tzinfo=UTC),))[0])
        limit = int(q.get("maxResults", "250"))
        body = {"kind": "calendar#events", "summary": cal, "items": items[:limit]}
        return await self._done(record, web.json_response(body), plan)

    def _precondition(self, request: web.Request, event: dict[str, Any]) -> web.Response | None:
        if_match = request.headers.get("If-Match")
        if if_match is not None and if_match != event["etag"]:
            return google_error(412)
        return None

    async def _patch(self, request: web.Request) -> web.Response:
        return await self._change(request, "patch")

    async def _update(self, request: web.Request) -> web.Response:
        return await self._change(request, "update")

    async def _change(self, request: web.Request, op: str) -> web.Response:
        record, error, plan = await self._begin(request, op)
        if error is not None:
            return error
        key = (unquote(request.match_info["cal"]), request.match_info["event_id"])
        body = record["body"] if isinstance(record["body"], dict) else {}
        with self._lock:
            event = self.events.get(key)
            if event is None:
                return self._finish(record, google_error(404))
            failed = self._precondition(request, event)
            if failed is not None:
                return self._finish(record, failed)
            keep = {
                k: event[k] for k in ("id", "created", "htmlLink", "organizer", "creator", "kind")
            }
            if op == "update":
                event.clear()
                event.update({"status": "confirmed", **body, **keep})
            else:
                for field, value in body.items():
                    if field in keep:
                        continue
                    if field == "extendedProperties" and isinstance(value, dict):
                        current = event.setdefault("extendedProperties", {})
                        for scope, props in value.items():
                            current.setdefault(scope, {}).update(props or {})
                    else:
                        event[field] = value
            self._touch(event)
            reply = dict(event)
        return await self._done(record, web.json_response(reply), plan)

    async def _delete(self, request: web.Request) -> web.Response:
        record, error, plan = await self._begin(request, "delete")
        if error is not None:
            return error
        key = (unquote(request.match_info["cal"]), request.match_info["event_id"])
        with self._lock:
            event = self.events.get(key)
            if event is None:
                return self._finish(record, google_error(404))
            if event.get("status") == "cancelled":
                return self._finish(record, google_error(410))
            failed = self._precondition(request, event)
            if failed is not None:
                return self._finish(record, failed)
            event["status"] = "cancelled"
            self._touch(event)
        return await self._done(record, web.Response(status=204), plan)

    async def _freebusy(self, request: web.Request) -> web.Response:
        record, error, plan = await self._begin(request, "freebusy")
        if error is not None:
            return error
        body = record["body"] if isinstance(record["body"], dict) else {}
        try:
            time_min, time_max = parse_time(body["timeMin"]), parse_time(body["timeMax"])
        except (KeyError, ValueError):
            return self._finish(record, google_error(400, "required", "Missing timeMin/timeMax."))
        calendars: dict[str, Any] = {}
        with self._lock:
            for item in body.get("items") or []:
                cal = item.get("id")
                if cal not in self.calendar_ids:
                    calendars[cal] = {
                        "errors": [{"domain": "global", "reason": "notFound"}],
                        "busy": [],
                    }
                    continue
                spans = sorted(
                    span
                    for (c, _), e in self.events.items()
                    if c == cal
                    and e.get("status") != "cancelled"
                    and e.get("transparency") != "transparent"
                    and (span := _span(e))
                    and span[1] > time_min
                    and span[0] < time_max
                )
                merged: list[list[datetime]] = []
                for start, end in spans:
                    start, end = max(start, time_min), min(end, time_max)
                    if merged and start <= merged[-1][1]:
                        merged[-1][1] = max(merged[-1][1], end)
                    else:
                        merged.append([start, end])
                calendars[cal] = {
                    "busy": [
                        {
                            "start": s.isoformat().replace("+00:00", "Z"),
                            "end": e.isoformat().replace("+00:00", "Z"),
                        }
                        for s, e in merged
                    ]
                }
        reply = {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": calendars,
        }
        return await self._done(record, web.json_response(reply), plan)
