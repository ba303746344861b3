"""The receptionist's HTTP and WebSocket server (FastAPI + uvicorn).

Routes:
- POST /twilio/voice       Twilio voice webhook: signed; answers with TwiML that streams the call here
- WS   /twilio/ws          Twilio Media Streams: one Pipecat pipeline per call
- POST /twilio/recording   voicemail left through the TwiML fallback (the `<Record>` action and its
                           recording status callback): one message per RecordingSid, texted to the owners
- POST /twilio/call-status Twilio call status callbacks, kept once per (CallSid, CallStatus)
- POST /twilio/stream-status  Media Streams status callbacks (why a stream died)
- POST /twilio/sms         inbound SMS (the owner acknowledging an emergency alert)
- GET  /health, /ready     liveness, and whether calls can be answered (status only; the provider
                           detail with the METRICS_TOKEN bearer token)
- GET  /metrics            Prometheus metrics, with `Authorization: Bearer $METRICS_TOKEN`; 404 unset
- GET  /, /web/*, /api/profiles, POST+PATCH /api/offer
                           the WebRTC test page (pipelines/webrtc_call.py): not registered unless
                           TEST_PAGE_ENABLED; its API needs the page token
- GET  /docs, /redoc, /openapi.json   only with API_DOCS_ENABLED

Every signed Twilio webhook must also carry our TWILIO_ACCOUNT_SID (bot/webhook_origin.py), else
403. /voice and /sms serve the business whose number was called or texted (`To`, through the
tenant registry); a number no enabled business answers gets an apology (voice) or nothing (SMS),
a logged alert, and no record.

Every request body is capped per route before anything parses it (bot/request_limits.py): 413.

Run: `uv run server.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, cast

import uvicorn
from fastapi import Depends, FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect

from bot import access, metrics
from bot.admission import BUSY_MESSAGE, admit_twilio_call
from bot.app_state import AppState, sweep
from bot.config import Settings, load_settings
from bot.logging_setup import configure_logging
from bot.media_stream import DropCounter, read_stream_start
from bot.pii import mask_phone
from bot.profile import ProfileError, load_profile
from bot.read_timeouts import protocol_with_read_timeout
from bot.request_limits import (
    TWILIO_FORM_MAX_FIELD_BYTES,
    TWILIO_FORM_MAX_FIELDS,
    TWILIO_FORM_MAX_FILES,
    BodyLimitMiddleware,
    invalid_request,
)
from bot.serving import DrainingServer, serve_workers
from bot.twilio_webhook import (
    apology_twiml,
    connect_twiml,
    empty_twiml,
    signature_is_valid,
    stream_token,
    token_matches,
    voicemail_twiml,
)
from bot.webhook_origin import account_matches
from pipelines.pipecat_internals import shared_models
from pipelines.twilio_call import run_twilio_call
from pipelines.webrtc_call import close_webrtc, mount_test_page

FALLBACK_MESSAGE = (
    "Sorry, our receptionist is having trouble right now. Please leave your name, number and a "
    "short message after the tone, and we will call you back."
)
UNKNOWN_NUMBER_MESSAGE = "Sorry, this number cannot take your call right now. Goodbye."
XML = "application/xml"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open shared resources; close stale call records periodically; release on shutdown."""
    settings: Settings = getattr(app.state, "settings", None) or Settings()
    configure_logging(settings.log_level)
    try:
        state = await AppState.start(settings)
    except ProfileError as exc:
        logger.error("{}", exc)
        raise SystemExit(2) from None
    app.state.app = state
    state.log_providers()
    mount_test_page(app, settings)
    if settings.api_docs_enabled:
        enable_api_docs(app)
    await asyncio.to_thread(shared_models.warm_up)  # load VAD and turn models before any call
    freeze_startup_heap()
    sweeper = asyncio.create_task(_sweep_forever(state))
    escalator = asyncio.create_task(_escalate_forever(state))
    loop_watch = asyncio.create_task(metrics.watch_event_loop())
    try:
        yield
    finally:
        sweeper.cancel()
        escalator.cancel()
        loop_watch.cancel()
        await close_webrtc(app)
        await state.stop()


def freeze_startup_heap() -> None:
    """Exempt everything loaded at start-up from the cyclic garbage collector.

    Pipecat, the provider SDKs and the models leave a large heap that lives as long as the process,
    and every full collection walked all of it on the event loop: 80-170 ms with 8 calls live, an
    audible stall for each of them. Frozen, a full collection walks only the calls' own objects.
    """
    gc.collect()
    gc.freeze()


def enable_api_docs(app: FastAPI) -> None:
    """Register FastAPI's /openapi.json, /docs and /redoc (built without them: off by default)."""
    if app.openapi_url is None:
        app.openapi_url, app.docs_url, app.redoc_url = "/openapi.json", "/docs", "/redoc"
        app.setup()


async def _sweep_forever(state: AppState) -> None:
    jobs = (
        ("sweep", lambda: sweep(state.store, state.settings)),
        ("outbox_retry", state.outbox.retry_failed),
    )
    while True:
        await asyncio.sleep(state.settings.sweep_every_secs)
        for name, job in jobs:  # each runs whatever the other did
            try:
                await job()
            except Exception as exc:
                metrics.BACKGROUND_FAILURES.labels(task=name).inc()
                logger.error("periodic {} failed: {}", name, type(exc).__name__)


async def _escalate_forever(state: AppState) -> None:
    while True:
        await asyncio.sleep(state.settings.escalation_check_secs)
        for business in state.businesses.values():
            if business.alerts is None:
                continue
            try:
                await business.alerts.escalate_due()
            except Exception as exc:  # keep escalating the next alert whatever this one did
                logger.error("emergency escalation failed: {}", type(exc).__name__)


app = FastAPI(
    title="AI phone receptionist",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)
app.add_middleware(BodyLimitMiddleware)  # before routing: unregistered paths are capped too
app.add_exception_handler(RequestValidationError, invalid_request)  # never echo the input


@app.exception_handler(ClientDisconnect)
async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
    """The client left, or was cut off for sending too slowly, mid-request: nobody to answer."""
    return Response(status_code=400)


def _state(request: Request | WebSocket) -> AppState:
    return request.app.state.app


class NotFromTwilio(Exception):
    """A webhook that Twilio did not sign, or signed for another account or number."""


async def _signed_form(request: Request) -> FormData:
    """The webhook's form fields if Twilio signed it for our account; else `NotFromTwilio`.

    Which business a call or text is for is the handler's to decide, from `To`.
    """
    state = _state(request)
    form = await request.form(
        max_files=TWILIO_FORM_MAX_FILES,
        max_fields=TWILIO_FORM_MAX_FIELDS,
        max_part_size=TWILIO_FORM_MAX_FIELD_BYTES,
    )
    token = state.settings.twilio_auth_token
    ok = signature_is_valid(
        token.get_secret_value() if token else None,
        state.settings.public_base_url,
        request.url.path,
        request.url.query,
        form,
        request.headers.get("X-Twilio-Signature"),
    )
    if not ok:
        logger.warning("rejected {} with a missing or invalid Twilio signature", request.url.path)
        raise NotFromTwilio
    if not account_matches(state.settings.twilio_account_sid, str(form.get("AccountSid") or "")):
        logger.warning("rejected {}: signed, but for another Twilio account", request.url.path)
        raise NotFromTwilio
    return form


# A signed webhook's fields; a request that is not Twilio's, for our account, gets 403 first.
TwilioForm = Annotated[FormData, Depends(_signed_form)]


def _unknown_number(state: AppState, path: str, to: str) -> None:
    """A signed webhook for a number no enabled tenant answers: an alert for whoever runs this."""
    metrics.UNKNOWN_NUMBER.labels(route=path).inc()
    logger.error(
        "{} for {}, a number no enabled business answers: check the tenant files",
        path,
        mask_phone(to),
    )


async def _not_from_twilio(request: Request, exc: Exception) -> Response:
    return Response(
        "invalid signature, or not for this deployment", status_code=403, media_type="text/plain"
    )


app.add_exception_handler(NotFromTwilio, _not_from_twilio)


def _metrics_credential(request: Request) -> access.Credential:
    presented = access.bearer(request.headers.get("Authorization"))
    return access.check(_state(request).settings.metrics_token, presented)


@app.get("/health")
async def health(request: Request) -> dict:
    """Liveness; which providers are configured only with the metrics token."""
    body: dict = {"status": "ok"}
    if _metrics_credential(request) is access.Credential.VALID:
        body["providers"] = _state(request).settings.providers
    return body


@app.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready only when a call can be answered and the server is not shutting down.

    Which providers are missing, only with the metrics token.
    """
    state = _state(request)
    settings = state.settings
    ok = settings.can_take_calls and not state.drain.draining
    body: dict = {"ready": ok, "draining": state.drain.draining}
    if _metrics_credential(request) is access.Credential.VALID:
        body |= {"providers": settings.providers, "missing": settings.missing_providers}
    return JSONResponse(body, status_code=200 if ok else 503)


@app.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus metrics: turn latency, time to greeting, active calls, calls by outcome.

    Needs `Authorization: Bearer $METRICS_TOKEN`; without a configured token it does not exist.
    """
    settings = _state(request).settings
    if access.configured(settings.metrics_token) is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    if _metrics_credential(request) is not access.Credential.VALID:
        return Response(
            "a valid bearer token is required",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(
        metrics.render(settings.prometheus_multiproc_dir), media_type="text/plain; version=0.0.4"
    )


@app.post("/twilio/voice")
async def twilio_voice(request: Request, form: TwilioForm) -> Response:
    """Answer an incoming call with TwiML that streams it to /twilio/ws."""
    state, settings = _state(request), _state(request).settings
    call_sid = str(form.get("CallSid") or "")
    if not call_sid.startswith("CA"):
        return Response("missing CallSid", status_code=400, media_type="text/plain")
    caller, called = str(form.get("From") or ""), str(form.get("To") or "")
    business = state.business_for_number(called, "voice")
    if business is None:  # never a default business: an apology, and no record
        _unknown_number(state, request.url.path, called)
        return Response(apology_twiml(UNKNOWN_NUMBER_MESSAGE), media_type=XML)
    admission = await admit_twilio_call(
        state.store,
        call_sid,
        caller,
        called,
        business.name,
        limit=settings.call_limit,
        draining=state.drain.draining,
    )
    created = admission.created
    recording = f"{settings.public_base_url}/twilio/recording"
    if not admission.admitted:  # full, or shutting down: voicemail, nothing streamed here
        if created:
            metrics.CALLS_REFUSED.labels(reason=admission.reason).inc()
            logger.warning("call {} sent to voicemail: {}", call_sid, admission.reason)
        return Response(voicemail_twiml(BUSY_MESSAGE, recording), media_type=XML)
    if not settings.can_take_calls:
        await state.store.finish_call(call_sid, "FAILED", "providers_not_configured")
        return Response(voicemail_twiml(FALLBACK_MESSAGE, recording), media_type=XML)
    await state.store.issue_stream_token(call_sid)
    if created:
        logger.info("incoming call {} from {}", call_sid, mask_phone(caller))
    twiml = connect_twiml(
        stream_url=settings.stream_url,
        parameters={
            "from_number": caller,
            "to_number": called,
            "token": stream_token(state.stream_secret, call_sid),
        },
        fallback_message=FALLBACK_MESSAGE,
        recording_action=recording,
        status_callback=f"{settings.public_base_url}/twilio/stream-status",
    )
    return Response(twiml, media_type=XML)


@app.websocket("/twilio/ws")
async def twilio_stream(websocket: WebSocket) -> None:
    """Media Streams: accept only a signed upgrade whose `start` carries an unused stream token."""
    state, settings = _state(websocket), _state(websocket).settings
    auth_token = settings.twilio_auth_token
    signed = signature_is_valid(
        auth_token.get_secret_value() if auth_token else None,
        settings.stream_url.removesuffix(websocket.url.path),
        websocket.url.path,
        websocket.url.query,
        {},
        websocket.headers.get("X-Twilio-Signature"),
    )
    if not signed:
        logger.warning("rejected a media stream upgrade with a missing or invalid signature")
        await websocket.close(code=1008)
        return
    if state.pending_streams.full:  # too many sockets already waiting for `start`
        logger.warning("refused a media stream upgrade: too many waiting for start")
        await websocket.close(code=1013)
        return
    await websocket.accept()
    drops = DropCounter()

    async def receive() -> str | bytes:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        # ASGI sets `text` or `bytes` on every websocket.receive message.
        data = message.get("text") if message.get("text") is not None else message.get("bytes")
        return cast("str | bytes", data)

    try:
        with state.pending_streams.hold():
            start = await asyncio.wait_for(
                read_stream_start(receive, settings.max_ws_message_bytes, drops),
                timeout=settings.stream_start_timeout_secs,
            )
    except (TimeoutError, WebSocketDisconnect):
        start = None
    token = start.parameters.get("token") if start else None
    accepted = (
        start is not None
        and account_matches(settings.twilio_account_sid, start.account_sid)
        and token_matches(state.stream_secret, start.call_sid, token)
        and await state.store.consume_stream_token(start.call_sid, settings.stream_token_ttl_secs)
    )
    call = await state.store.get_call(start.call_sid) if accepted and start else None
    if start is None or call is None or call.status != "ACTIVE":
        await state.store.audit("twilio", "stream.rejected", None, {"has_start": start is not None})
        logger.warning("rejected a media stream without a valid stream token or AccountSid")
        with contextlib.suppress(Exception):
            await websocket.close(code=1008, reason="invalid stream token")
        return
    business = state.business_of_call(call)
    if business is None:  # its tenant was disabled since the webhook: nobody to answer for
        await state.store.finish_call(call.id, "FAILED", "business_unavailable")
        with contextlib.suppress(Exception):
            await websocket.close(code=1008, reason="business unavailable")
        return
    session = state.new_session(
        call.id,
        transport="twilio",
        caller=call.caller,
        called=call.called,
        call_sid=start.call_sid,
        business=business,
    )
    with state.drain.track(session):  # a shutdown waits for this call
        await run_twilio_call(websocket, start, session, drops)


@app.post("/twilio/recording")
async def twilio_recording(request: Request, form: TwilioForm) -> Response:
    """A voicemail left after the fallback apology: one message per RecordingSid, texted to the owners.

    The `<Record>` action and its recording status callback both come here; whichever arrives
    first keeps the message (bot/twilio_callbacks.py).
    """
    state = _state(request)
    call_sid = str(form.get("CallSid") or "")
    call = await state.store.get_call(call_sid) if call_sid else None
    business = state.business_of_call(call) if call is not None else None
    if business is None or business.callbacks is None:  # no call of ours: nobody to text
        _unknown_number(state, request.url.path, str(form.get("To") or ""))
        return Response(empty_twiml(), media_type=XML)
    problem = await business.callbacks.recording_posted(form)
    if problem is not None:
        return Response(problem, status_code=400, media_type="text/plain")
    if call is not None:
        await state.store.finish_call(call.id, "FAILED", "voicemail_fallback")
    return Response(empty_twiml(), media_type=XML)


@app.post("/twilio/call-status")
async def twilio_call_status(request: Request, form: TwilioForm) -> Response:
    """Call status callbacks, kept once per (CallSid, CallStatus); the call record is not touched."""
    # Kept for the record only, whichever business placed or took the call.
    callbacks = _state(request).business.callbacks
    problem = await callbacks.call_status_posted(form) if callbacks is not None else None
    if problem is not None:
        return Response(problem, status_code=400, media_type="text/plain")
    return Response(empty_twiml(), media_type=XML)


@app.post("/twilio/sms")
async def twilio_sms(request: Request, form: TwilioForm) -> Response:
    """Inbound SMS: each MessageSid once; a reply from the owner acknowledges emergency alerts."""
    message_sid = str(form.get("MessageSid") or "")
    if not message_sid.startswith(("SM", "MM")):
        return Response("missing MessageSid", status_code=400, media_type="text/plain")
    state = _state(request)
    to = str(form.get("To") or "")
    business = state.business_for_number(to, "sms")
    if business is None or business.alerts is None:
        _unknown_number(state, request.url.path, to)
        return Response(empty_twiml(), media_type=XML)
    await business.alerts.record_inbound_sms(
        message_sid, str(form.get("From") or ""), str(form.get("Body") or "")
    )
    return Response(empty_twiml(), media_type=XML)


@app.post("/twilio/stream-status")
async def twilio_stream_status(request: Request, form: TwilioForm) -> Response:
    """Record Media Streams lifecycle events; the only server-side trace of why a stream died."""
    call_sid = str(form.get("CallSid") or "") or None
    detail = {k: str(form.get(k) or "") for k in ("StreamSid", "StreamEvent", "StreamError")}
    await _state(request).store.audit("twilio", "stream.status", call_sid, detail)
    return Response(empty_twiml(), media_type=XML)


def main() -> None:
    """Validate configuration, then serve."""
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        load_profile(settings.business_profile)
    except ProfileError as exc:
        logger.error("{}", exc)
        sys.exit(2)
    app.state.settings = settings
    workers = settings.worker_count
    if workers > 1:
        # Every worker writes its metrics here; /metrics in any worker reports them all.
        metrics_dir = tempfile.mkdtemp(prefix="receptionist-metrics-")
        # Exported (not read) for the worker processes: prometheus_client reads it at import.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        logger.info("starting {} worker processes", workers)
    config = uvicorn.Config(
        "server:app" if workers > 1 else app,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        ws_max_size=1024 * 1024,  # larger messages are dropped by our own check, not the socket
        ws_per_message_deflate=False,  # compressing 20 ms audio packets costs CPU, saves little
        # Live calls are drained before uvicorn's shutdown starts (bot/serving.py); this bounds
        # only what is left after that.
        timeout_graceful_shutdown=10,
        # uvicorn calls `http` as a protocol factory, but annotates it as a class.
        http=protocol_with_read_timeout(settings.request_read_timeout_secs),  # type: ignore[arg-type]
        limit_concurrency=settings.max_connections,
        # A worker answers the supervisor's health check only once it has imported Pipecat and the
        # SDKs, about 8 s on a busy 2-core machine; at uvicorn's 5 s it was killed and restarted
        # over and over.
        timeout_worker_healthcheck=60,
        proxy_headers=False,
    )
    if workers > 1:
        serve_workers(config)
    else:
        DrainingServer(config).run()


if __name__ == "__main__":
    main()
