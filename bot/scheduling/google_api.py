"""The Google Calendar API client: credentials, one HTTP connection per thread, and retries.

Invariant: every request to Google goes through `GoogleApi.run`, which either returns the API's
answer or raises one of our errors: `GoogleStatus` for a status the caller asked to handle,
`CalendarUnavailable` for a transient failure once the budget is spent, `CalendarRejected` for a
permanent one. It never retries past the budget a caller on the line can wait.

`google-api-python-client` is blocking and httplib2 is not thread-safe, so each call runs in
`asyncio.to_thread` with one `Http` (and one service object) per worker thread. Retries are ours
(tenacity), never the client's: 429, 5xx, rate-limit 403s, timeouts and connection errors are
retried with jittered backoff inside a total budget; 400 and permission errors are never retried.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from loguru import logger
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from bot.scheduling.errors import CalendarRejected, CalendarUnavailable

SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
)
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


class GoogleStatus(Exception):
    """An HTTP status the caller of `GoogleApi.run` asked to handle itself (404, 409, 412...)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"http {status} {reason}")
        self.status = status
        self.reason = reason


def _reason(exc: HttpError) -> str:
    try:
        errors = json.loads(exc.content.decode("utf-8"))["error"].get("errors") or []
        return str(errors[0].get("reason", "")) if errors else ""
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return ""


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: 429, 5xx, rate-limit 403s, timeouts and connection failures."""
    if isinstance(exc, HttpError):
        status = exc.resp.status
        return (
            status == 429 or status >= 500 or (status == 403 and _reason(exc) in RATE_LIMIT_REASONS)
        )
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return bool(getattr(exc, "retryable", False))
    return isinstance(
        exc,
        TimeoutError
        | OSError
        | httplib2.HttpLib2Error
        | http.client.HTTPException
        | google.auth.exceptions.TransportError,
    )


class GoogleApi:
    """Blocking Calendar API calls made safe for the event loop, with a retry budget."""

    def __init__(
        self,
        *,
        calendar_id: str,
        base_url: str,
        credentials: Any | None,
        timeout_secs: float,
        budget_secs: float,
        max_attempts: int = 4,
    ) -> None:
        self.calendar_id = calendar_id
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._credentials = credentials
        self._timeout = timeout_secs
        self._budget = budget_secs
        self._max_attempts = max_attempts
        self._local = threading.local()

    @classmethod
    def from_service_account(
        cls,
        path: Path,
        *,
        calendar_id: str,
        base_url: str,
        timeout_secs: float,
        budget_secs: float,
    ) -> GoogleApi:
        """Credentials from a service-account JSON key; its `token_uri` is where tokens come from."""
        # google-auth leaves from_service_account_file unannotated.
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=list(SCOPES)
        )
        return cls(
            calendar_id=calendar_id,
            base_url=base_url,
            credentials=credentials,
            timeout_secs=timeout_secs,
            budget_secs=budget_secs,
        )

    def _service(self) -> Any:
        """This thread's own service object (httplib2 is not thread-safe)."""
        service = getattr(self._local, "service", None)
        if service is None:
            http: Any = httplib2.Http(timeout=self._timeout)
            if self._credentials is not None:
                http = google_auth_httplib2.AuthorizedHttp(self._credentials, http=http)
            service = build(
                "calendar",
                "v3",
                http=http,
                cache_discovery=False,
                static_discovery=True,
                client_options={"api_endpoint": self._base_url},
            )
            self._local.service = service
        return service

    async def run(
        self,
        what: str,
        make: Callable[[Any], Any],
        *,
        if_match: str | None = None,
        passthrough: frozenset[int] = frozenset(),
    ) -> Any:
        """Build a request with `make(service)` in a worker thread and execute it, with retries.

        Statuses in `passthrough` raise `GoogleStatus` for the caller to handle. Otherwise a
        transient failure past the budget raises `CalendarUnavailable`, and a permanent one
        `CalendarRejected`.
        """

        def attempt() -> Any:
            request = make(self._service())
            if if_match:
                request.headers["If-Match"] = if_match
            return request.execute(num_retries=0)

        started = time.monotonic()
        retrying = AsyncRetrying(
            stop=stop_before_delay(self._budget) | stop_after_attempt(self._max_attempts),
            wait=wait_random_exponential(multiplier=0.25, max=1.0),
            retry=retry_if_exception(
                lambda e: (
                    is_transient(e)
                    and not (isinstance(e, HttpError) and e.resp.status in passthrough)
                )
            ),
            reraise=True,
        )
        try:
            async for step in retrying:
                with step:
                    remaining = self._budget - (time.monotonic() - started)
                    if remaining <= 0:
                        raise TimeoutError("calendar budget spent")
                    return await asyncio.wait_for(asyncio.to_thread(attempt), remaining)
        except HttpError as exc:
            status = exc.resp.status
            if status in passthrough:
                raise GoogleStatus(status, _reason(exc)) from None
            logger.warning("google calendar {} failed: http {} {}", what, status, _reason(exc))
            if is_transient(exc):
                raise CalendarUnavailable(f"http {status}") from None
            raise CalendarRejected(f"http {status} {_reason(exc)}") from None
        except Exception as exc:
            if is_transient(exc):
                logger.warning("google calendar {} unreachable: {}", what, type(exc).__name__)
                raise CalendarUnavailable(type(exc).__name__) from None
            if isinstance(exc, google.auth.exceptions.GoogleAuthError):
                logger.error("google calendar {}: credentials refused", what)
                raise CalendarRejected("auth") from None
            raise
        raise CalendarUnavailable("no attempt made")  # pragma: no cover - the loop returns
