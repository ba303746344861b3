"""A call from the browser test page: SmallWebRTC signalling, then the same receptionist.

The page (`bot/web/`) sends an SDP offer with the business profile to talk to and the number to
"call as". This module validates both, creates the call record (transport = webrtc), and runs
`CallRunner`, the pipeline phone calls use, on a `SmallWebRTCTransport`. What happens on the call
(transcript, tool calls, latency, the end) goes back to the page over the WebRTC data channel as
app messages: `{"type": "receptionist-event", "kind": ..., "data": ...}`.

Routes, registered by `mount_test_page(app, settings)` only when TEST_PAGE_ENABLED (otherwise they
do not exist): `GET /` the page, `GET /web/*` its assets, `GET /api/profiles` what the page needs
before connecting, `POST /api/offer` new call or renegotiation, `PATCH /api/offer` trickled ICE
candidates. Call `close_webrtc(app)` on shutdown, before the database closes.

Access: the page and its assets are plain code; every `/api/*` request needs
`Authorization: Bearer <page token>` (TEST_PAGE_TOKEN, or a random token logged at start-up as the
page's URL with `#token=...`; a fragment never reaches the server or a proxy's access log). The
token is checked before the body is read: 401 without it, 403 with a wrong one. The token is the
whole credential: whoever holds it may start calls and choose any "call as" number, the owner's
included (owner mode then still needs OWNER_PIN). New calls are capped (TEST_PAGE_MAX_CALLS at
once, TEST_PAGE_CALLS_PER_MINUTE): over a cap the offer gets 429 before any record, peer
connection or provider session exists. A loopback check would not do: tunnels connect from
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from loguru import logger
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import IceServer, SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot import access
from bot.access import CallCaps, Credential
from bot.app_state import AppState
from bot.config import DEFAULT_PROFILE, Settings
from bot.pii import mask_phone
from bot.profile import BusinessProfile, ProfileError, load_profile, to_e164
from pipelines.pipecat_internals.aioice_loopback import offer_loopback_candidates
from pipelines.receptionist import CallRunner

WEB_DIR = Path(__file__).resolve().parent.parent / "bot" / "web"
PROFILES_DIR = DEFAULT_PROFILE.parent
# The browser sends and receives 48 kHz Opus; SmallWebRTC resamples on both sides. 16 kHz is what
# Silero VAD, smart-turn and Deepgram work at; 24 kHz is plenty for speech from Cartesia.
WEBRTC_IN_RATE = 16000
WEBRTC_OUT_RATE = 24000
# On shutdown, calls get this long to close their records after their peers were disconnected.
SHUTDOWN_GRACE_SECS = 5.0


class _TokenRoute(APIRoute):
    """A page API route: the page token is checked before the body is read or validated."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            presented = access.bearer(request.headers.get("Authorization"))
            expected = getattr(request.app.state, "test_page_token", None)
            credential = access.check(expected, presented)
            if credential is Credential.MISSING:
                raise HTTPException(
                    401,
                    "The test page needs its token: open the URL the server logged at start-up.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if credential is Credential.WRONG:
                raise HTTPException(403, "Wrong test page token.")
            return await handler(request)

        return checked


page_router = APIRouter()
api_router = APIRouter(route_class=_TokenRoute)


def mount_test_page(app: FastAPI, settings: Settings) -> None:
    """Register the page, its assets and its API if TEST_PAGE_ENABLED; log the URL to open it."""
    if not settings.test_page_enabled or getattr(app.state, "test_page_token", None):
        return
    token = access.configured(settings.test_page_token)
    shown = "<TEST_PAGE_TOKEN>"
    if token is None:
        if settings.worker_count > 1:
            # Each worker would make its own token, and a call's requests reach any of them.
            logger.error("test page NOT started: set TEST_PAGE_TOKEN when WORKERS is above 1")
            return
        token = shown = secrets.token_urlsafe(24)
    app.state.test_page_token = token
    app.include_router(page_router)
    app.include_router(api_router)
    app.mount("/web", StaticFiles(directory=WEB_DIR), name="web")
    host = "localhost" if settings.host in ("0.0.0.0", "::", "") else settings.host
    # A warning so it shows at any LOG_LEVEL: the page spends provider credit for whoever opens it.
    logger.warning("test page on: open http://{}:{}/#token={}", host, settings.port, shown)


# ---- request bodies ----------------------------------------------------------------------------


class CallChoice(BaseModel):
    """What the page chose: which business to call, and the caller ID to present."""

    model_config = ConfigDict(extra="forbid")

    profile: str | None = Field(default=None, max_length=100)
    caller: str | None = Field(default=None, max_length=32)


class Offer(BaseModel):
    """`POST /api/offer`, in SmallWebRTC's snake_case shape."""

    sdp: str = Field(max_length=64_000)
    type: Literal["offer"]
    pc_id: str | None = Field(default=None, max_length=200)
    restart_pc: bool | None = None
    request_data: CallChoice = CallChoice()

    @field_validator("sdp")
    @classmethod
    def _has_audio(cls, sdp: str) -> str:
        # aiortc answers even an empty session; without audio there is no call to run.
        if "m=audio " not in sdp:
            raise ValueError("the offer has no audio")
        return sdp


class Candidate(BaseModel):
    """One trickled ICE candidate; an empty `candidate` means end of candidates."""

    candidate: str = Field(max_length=1_000)
    sdp_mid: str = Field(max_length=100)
    sdp_mline_index: int = Field(ge=0, le=16)


class CandidatePatch(BaseModel):
    """`PATCH /api/offer`."""

    pc_id: str = Field(max_length=200)
    candidates: list[Candidate] = Field(max_length=50)


# ---- per-app state ---------------------------------------------------------------------------


@dataclass
class WebRTCCalls:
    """The signalling handler, the profiles the page may choose, and the calls in progress."""

    handler: SmallWebRTCRequestHandler
    ice_servers: list[str]
    profiles: dict[str, BusinessProfile]  # file stem -> profile; the first is the default
    caps: CallCaps
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    live: set[str] = field(default_factory=set)  # pc_ids of calls in progress

    @classmethod
    def create(cls, state: AppState) -> WebRTCCalls:
        """Build from settings: ICE servers, and the profiles in `bot/profiles/`."""
        ice_servers = state.settings.webrtc_ice_servers
        if not ice_servers:
            offer_loopback_candidates()
        return cls(
            handler=SmallWebRTCRequestHandler(ice_servers=[IceServer(urls=u) for u in ice_servers]),
            ice_servers=ice_servers,
            profiles=_choosable_profiles(state),
            caps=CallCaps(
                state.settings.test_page_max_calls, state.settings.test_page_calls_per_minute
            ),
        )


def _calls(request: Request) -> WebRTCCalls:
    """This app's `WebRTCCalls`, created on first use (settings exist only once the app runs)."""
    calls: WebRTCCalls | None = getattr(request.app.state, "webrtc", None)
    if calls is None:
        calls = WebRTCCalls.create(request.app.state.app)
        request.app.state.webrtc = calls
    return calls


def _choosable_profiles(state: AppState) -> dict[str, BusinessProfile]:
    """Every tenant (by id) first, then every other valid `bot/profiles/*.yaml`."""
    profiles = {name: business.profile for name, business in state.businesses.items()}
    for path in sorted(PROFILES_DIR.glob("*.yaml")):
        if path.stem in profiles:
            continue
        try:
            profiles[path.stem] = load_profile(path)
        except ProfileError:
            logger.warning("profile {} is invalid; the test page will not offer it", path.name)
    return profiles


# ---- routes ----------------------------------------------------------------------------------


@page_router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    """The WebRTC test page."""
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-store"})


@api_router.get("/api/profiles")
async def profiles(request: Request) -> dict[str, Any]:
    """Profiles the page can call (the first is the server's own), and the ICE servers to use."""
    calls = _calls(request)
    return {
        "profiles": [
            {"name": name, "business": profile.name, "phone": profile.phone}
            for name, profile in calls.profiles.items()
        ],
        "ice_servers": calls.ice_servers,
    }


@api_router.post("/api/offer")
async def offer(body: Offer, request: Request) -> dict[str, str]:
    """Answer the page's SDP offer. Without a known `pc_id` it starts a new call."""
    calls, state = _calls(request), request.app.state.app
    if body.pc_id is None and not state.settings.can_take_calls:
        missing = ", ".join(state.settings.missing_providers)
        raise HTTPException(503, f"The receptionist cannot take calls: set up {missing}.")
    profile_name = body.request_data.profile or next(iter(calls.profiles))
    if profile_name not in calls.profiles:
        raise HTTPException(422, "Unknown business profile.")
    caller = _caller_number(body.request_data.caller)
    started: dict[str, str] = {}
    failed: list[SmallWebRTCConnection] = []
    # A slot under the caps for a new call; a renegotiation of a live call needs none.
    slot = body.pc_id is None or body.pc_id not in calls.live
    if slot and (refused := calls.caps.admit()) is not None:
        raise HTTPException(429, refused)

    async def start_call(connection: SmallWebRTCConnection) -> None:
        nonlocal slot
        if not slot:  # a renegotiation that became a new connection: it needs a slot of its own
            failed.append(connection)
            return
        try:
            started["call_id"] = await _start_call(
                calls, state, connection, profile_name, calls.profiles[profile_name], caller
            )
            slot = False  # the call's task gives it back when the call ends
        except Exception:  # already logged and recorded; the page gets a 500 below
            failed.append(connection)

    request_ = SmallWebRTCRequest(
        sdp=body.sdp, type=body.type, pc_id=body.pc_id, restart_pc=body.restart_pc
    )
    try:
        answer = await calls.handler.handle_web_request(request_, start_call)
    except HTTPException:
        raise
    except Exception as exc:  # an offer aiortc cannot parse or answer
        logger.warning("webrtc offer rejected: {}", type(exc).__name__)
        raise HTTPException(400, "The offer could not be answered.") from None
    finally:
        if slot:  # admitted, but no call took the slot over
            calls.caps.release()
    if failed or answer is None:
        for connection in failed:
            await connection.disconnect()
        raise HTTPException(500, "The call could not be started.")
    # `call_id` is present for a new call and absent for a renegotiation.
    return {**answer, **started}


@api_router.patch("/api/offer")
async def add_candidates(body: CandidatePatch, request: Request) -> dict[str, str]:
    """Add ICE candidates the page found after it sent its offer."""
    patch = SmallWebRTCPatchRequest(
        pc_id=body.pc_id, candidates=[IceCandidate(**c.model_dump()) for c in body.candidates]
    )
    try:
        await _calls(request).handler.handle_patch_request(patch)
    except HTTPException:
        raise
    except Exception as exc:  # a candidate line aiortc cannot parse
        logger.warning("webrtc candidates rejected: {}", type(exc).__name__)
        raise HTTPException(400, "The ICE candidates could not be added.") from None
    return {"status": "success"}


def _caller_number(value: str | None) -> str | None:
    """The "call as" number in E.164, None when left empty; 422 when it is not a number."""
    if not value or not value.strip():
        return None
    if not value.strip().startswith("+"):
        raise HTTPException(422, "Call as: use E.164 form, with + and the country code.")
    try:
        return to_e164(value.strip())
    except ValueError:
        raise HTTPException(422, "Call as: that is not a phone number.") from None


# ---- the call --------------------------------------------------------------------------------


async def _start_call(
    calls: WebRTCCalls,
    state: AppState,
    connection: SmallWebRTCConnection,
    profile_name: str,
    profile: BusinessProfile,
    caller: str | None,
) -> str:
    """Create the record and the pipeline, and run the call in the background; return its id."""
    call_id = await state.store.open_webrtc_call(caller, profile_name)

    async def to_page(kind: str, data: dict[str, Any]) -> None:
        # default=str: tool results may hold dates; the page only displays them.
        message = {"type": "receptionist-event", "kind": kind, "data": data}
        connection.send_app_message(json.loads(json.dumps(message, default=str)))

    # Another profile on the page books in its own built-in calendar and alerts nobody: its
    # owner is not this server's.
    business = await state.business_named(profile_name, profile)
    session = state.new_session(
        call_id,
        transport="webrtc",
        caller=caller,
        called=profile.phone,
        business=business,
        events=to_page,
    )
    try:
        transport = SmallWebRTCTransport(
            connection, TransportParams(audio_in_enabled=True, audio_out_enabled=True)
        )
        runner = CallRunner(
            transport, session, audio_in_rate=WEBRTC_IN_RATE, audio_out_rate=WEBRTC_OUT_RATE
        )
    except Exception as exc:
        logger.exception("webrtc call {} could not start: {}", call_id, type(exc).__name__)
        await state.store.finish_call(call_id, "FAILED", "setup_failed")
        raise
    logger.info("webrtc call {} from {} to {}", call_id, mask_phone(caller), profile_name)
    task = asyncio.create_task(runner.run(), name=f"webrtc-call-{call_id}")
    calls.tasks.add(task)
    calls.live.add(connection.pc_id)

    def ended(done: asyncio.Task[None]) -> None:
        calls.tasks.discard(done)
        calls.live.discard(connection.pc_id)
        calls.caps.release()

    task.add_done_callback(ended)
    return call_id


async def close_webrtc(app: FastAPI) -> None:
    """Hang up every page call and let each close its record. Call before the database closes."""
    calls: WebRTCCalls | None = getattr(app.state, "webrtc", None)
    if calls is None:
        return
    await calls.handler.close()
    if calls.tasks:
        _, pending = await asyncio.wait(calls.tasks, timeout=SHUTDOWN_GRACE_SECS)
        for task in pending:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*pending, return_exceptions=True)
