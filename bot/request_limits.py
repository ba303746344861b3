"""Request bodies are capped per route before anything reads them, and bad input is never echoed.

Invariants:
- No request body larger than its route's limit is buffered or parsed. A declared Content-Length
  over the limit is answered 413 before the application runs; a body streamed without one
  (chunked) is counted as it arrives, and the moment it passes the limit the client gets 413, the
  application sees a disconnect, and the rest is never read (the connection is closed).
- The limit is chosen from the path alone, before routing, so it holds for routes that are not
  registered (the test page when it is off) and for every later handler and dependency.
- A body that fails validation gets a short fixed 422: the input is not copied into the answer,
  so a large invalid body costs no more than its parse.

Twilio's webhook forms are about 2 KB (an SMS of 1,600 characters, percent-encoded, stays under
15 KB); a WebRTC SDP offer is a few KB. The limits below leave ample room for both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KB = 1024
# (path prefix, largest body in bytes); the longest matching prefix wins.
ROUTE_BODY_LIMITS: tuple[tuple[str, int], ...] = (
    ("/twilio/", 32 * KB),
    ("/api/offer", 64 * KB),
)
DEFAULT_BODY_LIMIT = 16 * KB

# Twilio's form fields, parsed only once the body is within the limit above. A voice webhook has
# about 30 fields; Twilio adds new ones without notice, hence the headroom. Twilio never uploads
# files to a webhook.
TWILIO_FORM_MAX_FIELDS = 200
TWILIO_FORM_MAX_FIELD_BYTES = 16 * KB
TWILIO_FORM_MAX_FILES = 0

INVALID_REQUEST = "The request is not valid."


def body_limit_for(path: str) -> int:
    """The largest request body accepted on `path`, in bytes."""
    matches = [
        (len(prefix), limit) for prefix, limit in ROUTE_BODY_LIMITS if path.startswith(prefix)
    ]
    return max(matches)[1] if matches else DEFAULT_BODY_LIMIT


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length, None when absent; -1 when it is not a plain number."""
    for name, value in headers:
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


class BodyLimitMiddleware:
    """Pure ASGI middleware enforcing `body_limit_for` on every HTTP request."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int] = body_limit_for) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an HTTP body that is malformed or over its path's limit; pass the rest on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        length = declared_length(scope.get("headers", []))
        if length is not None and (length < 0 or length > limit):
            await _refuse(send, 400 if length < 0 else 413, limit)
            return

        received = 0
        cut_off = False  # the body passed the limit: the app only sees a disconnect from now on
        answered = False  # the 413 was sent by us
        started = False  # the app had begun its own response

        async def limited_receive() -> Message:
            nonlocal received, cut_off, answered
            if cut_off:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut_off = True
                    if not started:
                        answered = True
                        await _refuse(send, 413, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:  # whatever the app answers after our 413 is dropped
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not answered:
                raise
            # The app failed on the disconnect it was fed (Starlette's ClientDisconnect) after
            # the client had its 413: nothing is left to do.


async def _refuse(send: Send, status: int, limit: int) -> None:
    text = (
        f"Request body too large: at most {limit} bytes here."
        if status == 413
        else "Invalid Content-Length."
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
                # The unread rest of the body is never read: the server closes the connection.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text, "more_body": False})


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with a fixed message for a RequestValidationError.

    FastAPI's default copies the input and every error into the body.
    """
    return JSONResponse({"detail": INVALID_REQUEST}, status_code=422)
