"""Fake Twilio REST API (2010-04-01): call updates (hang-up, redirect), outbound calls, SMS.

Point the ``twilio`` package at it with ``client.api.base_url = fake.url`` (there is no base-URL
argument), and Pipecat's ``TwilioFrameSerializer(base_url=fake.url)`` for the auto hang-up.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import BasicAuth, web

from ._base import HTTPFake, now

API = "/2010-04-01/Accounts/{account_sid}"

_ERROR_MESSAGES = {
    400: (21200, "Bad request (fake)"),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    503: (20503, "Service unavailable"),
}


def twilio_error(status: int, code: int | None = None, message: str | None = None) -> web.Response:
    """A JSON error in Twilio's shape: {code, message, more_info, status}."""
    default_code, default_message = _ERROR_MESSAGES.get(status, (20000 + status, "Error (fake)"))
    code = code or default_code
    body = {
        "code": code,
        "message": message or default_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def _rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC))


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class FakeTwilioREST(HTTPFake):
    """Twilio's REST API for one account, with HTTP Basic auth checked.

    Records (lists of dicts with ``t``, ``account_sid``, ``form`` (dict), ``authorization``
    (raw header) and ``status`` (HTTP status answered); every request is recorded, failed
    ones included):
      - ``call_updates``: + call_sid. ``Status=completed``/``canceled`` also adds the sid to
        ``ended_calls``, so a second hang-up gets 404 / 20404 like the real API.
      - ``calls_created``: + sid (outbound calls).
      - ``messages``: + sid (SMS).

    ``ended_calls`` (a set a test may fill) makes updates to those sids answer 404. The async
    ``fail_next(status, n)`` makes the next n requests fail with a Twilio error body.
    """

    def __init__(
        self, account_sid: str, auth_token: str, phone_number: str = "+15550100000"
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phone_number = phone_number
        self.call_updates: list[dict[str, Any]] = []
        self.calls_created: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.ended_calls: set[str] = set()
        self._calls: dict[str, dict[str, Any]] = {}  # call resources created through the fake
        self._failures: list[int] = []
        router = self.app.router
        router.add_post(API + "/Calls/{call_sid:[^/]+}.json", self._update_call)
        router.add_get(API + "/Calls/{call_sid:[^/]+}.json", self._fetch_call)
        router.add_post(API + "/Calls.json", self._create_call)
        router.add_post(API + "/Messages.json", self._create_message)

    @property
    def url(self) -> str:
        """Root URL, e.g. for ``client.api.base_url`` or ``TWILIO_API_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}"

    async def reset(self) -> None:
        """Clear records, ended calls and pending failures."""
        for records in (self.call_updates, self.calls_created, self.messages):
            records.clear()
        self.ended_calls.clear()
        self._calls.clear()
        self._failures.clear()

    async def fail_next(self, status: int, n: int = 1) -> None:
        """Make the next ``n`` requests fail with ``status`` and a Twilio error body."""
        self._failures.extend([status] * n)

    def hangups(self) -> list[dict[str, Any]]:
        """Successful ``Status=completed`` updates."""
        return [
            r
            for r in self.call_updates
            if r["form"].get("Status") == "completed" and r["status"] == 200
        ]

    # -- request handling ----------------------------------------------------------------------

    async def _begin(
        self, request: web.Request, records: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], web.Response | None]:
        """Record the request; return (record, error response or None)."""
        form = {k: str(v) for k, v in (await request.post()).items()}
        record: dict[str, Any] = {
            "t": now(),
            "account_sid": request.match_info["account_sid"],
            "form": form,
            "authorization": request.headers.get("Authorization"),
            "status": None,
        }
        if "call_sid" in request.match_info:
            record["call_sid"] = request.match_info["call_sid"]
        records.append(record)
        error = self._check(request)
        if error is not None:
            record["status"] = error.status
        return record, error

    def _check(self, request: web.Request) -> web.Response | None:
        if self._failures:
            return twilio_error(self._failures.pop(0))
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if auth is None or (auth.login, auth.password) != (self.account_sid, self.auth_token):
            return twilio_error(401)
        if request.match_info["account_sid"] != self.account_sid:
            return twilio_error(404, message=f"The requested resource {request.path} was not found")
        return None

    def _call_resource(self, call_sid: str, status: str) -> dict[str, Any]:
        resource = self._calls.get(call_sid) or {
            "sid": call_sid,
            "account_sid": self.account_sid,
            "to": self.phone_number,
            "to_formatted": self.phone_number,
            "from": None,
            "from_formatted": None,
            "direction": "inbound",
            "date_created": _rfc2822_now(),
            "start_time": _rfc2822_now(),
        }
        resource.update(
            {
                "status": status,
                "date_updated": _rfc2822_now(),
                "end_time": _rfc2822_now() if status in ("completed", "canceled") else None,
                "duration": "0" if status in ("completed", "canceled") else None,
                "api_version": "2010-04-01",
                "parent_call_sid": None,
                "phone_number_sid": None,
                "price": None,
                "price_unit": "USD",
                "answered_by": None,
                "forwarded_from": None,
                "group_sid": None,
                "caller_name": None,
                "queue_time": "0",
                "trunk_sid": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json",
                "subresource_uris": {
                    "recordings": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}/Recordings.json"
                },
            }
        )
        self._calls[call_sid] = resource
        return resource

    def _not_found(self, request: web.Request) -> web.Response:
        return twilio_error(404, message=f"The requested resource {request.path} was not found")

    async def _update_call(self, request: web.Request) -> web.Response:
        record, error = await self._begin(request, self.call_updates)
        if error is not None:
            return error
        call_sid = record["call_sid"]
        if call_sid in self.ended_calls:
            record["status"] = 404
            return self._not_found(request)
        requested = record["form"].get("Status")
        status = requested if requested in ("completed", "canceled") else "in-progress"
        if status != "in-progress":
            self.ended_calls.add(call_sid)
        record["status"] = 200
        return web.json_response(self._call_resource(call_sid, status))

    async def _fetch_call(self, request: web.Request) -> web.Response:
        error = self._check(request)
        if error is not None:
            return error
        call_sid = request.match_info["call_sid"]
        status = "completed" if call_sid in self.ended_calls else "in-progress"
        return web.json_response(self._call_resource(call_sid, status))

    async def _create_call(self, request: web.Request) -> web.Response:
        record, error = await self._begin(request, self.calls_created)
        if error is not None:
            return error
        form = record["form"]
        sid = record["sid"] = _sid("CA")
        self._calls[sid] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form.get("To"),
            "to_formatted": form.get("To"),
            "from": form.get("From"),
            "from_formatted": form.get("From"),
            "direction": "outbound-api",
            "date_created": _rfc2822_now(),
            "start_time": None,
        }
        record["status"] = 201
        return web.json_response(self._call_resource(sid, "queued"), status=201)

    async def _create_message(self, request: web.Request) -> web.Response:
        record, error = await self._begin(request, self.messages)
        if error is not None:
            return error
        form = record["form"]
        if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
            record["status"] = 400
            return twilio_error(400, 21602, "Message body is required.")
        sid = record["sid"] = _sid("SM")
        created = _rfc2822_now()
        record["status"] = 201
        return web.json_response(
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": form.get("Body", ""),
                "date_created": created,
                "date_sent": None,
                "date_updated": created,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
                },
                "to": form.get("To"),
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            status=201,
        )
