"""One settings object, read from the environment and `.env`.

Nothing else in the project reads environment variables. Every external endpoint can be
overridden, so the same code talks to the real providers, to self-hosted compatible services,
or to the loopback fakes used by the tests.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, create_model, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE = PROJECT_ROOT / "bot" / "profiles" / "bristol_plumbing.yaml"
# Calls one core carries with realistic provider latency at overhead p95 <= 150 ms and no audio
# underruns (tests/benchmark/RESULTS.md, "Now, one core": 12 calls, overhead p95 133 ms, 0
# underruns). CPU alone fills a core at about 17-20 calls (0.047-0.060 cores per call); at 16
# calls v2v p95 was already 1.5 s.
CALLS_PER_CORE = 12


def _secret_set(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value().strip())


class Settings(BaseSettings):
    """Runtime configuration. Secrets are `SecretStr` so they never print in logs or reprs."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Speech-to-text (Deepgram live WebSocket).
    deepgram_api_key: SecretStr | None = None
    deepgram_base_url: str = "wss://api.deepgram.com"
    deepgram_model: str = "nova-3-general"

    # LLM (OpenAI Chat Completions or any compatible server: Ollama, vLLM, llama.cpp).
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4.1"

    # Text-to-speech (Cartesia WebSocket). The path /tts/websocket is appended.
    cartesia_api_key: SecretStr | None = None
    cartesia_voice_id: str | None = None
    cartesia_base_url: str = "wss://api.cartesia.ai"
    cartesia_model: str = "sonic-3.6"

    # Twilio: webhook signatures, REST (hang-up, call updates, SMS).
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_phone_number: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"

    # Google Calendar (scheduling). Unset means the built-in SQLite calendar is used.
    google_calendar_base_url: str = "https://www.googleapis.com/calendar/v3/"
    google_calendar_id: str | None = None
    google_service_account_file: Path | None = None
    # Per-request socket timeout, and the total time one calendar operation may take including
    # retries (a caller is waiting); past it the booking is kept as a pending request.
    google_calendar_timeout_secs: float = Field(default=3.0, gt=0)
    google_calendar_budget_secs: float = Field(default=4.0, gt=0)

    # Where Twilio reaches this server, e.g. https://receptionist.fly.dev. Signatures are
    # checked against this URL, never against the Host header a proxy hands us.
    public_base_url: str = "http://localhost:7860"
    business_profile: Path = DEFAULT_PROFILE
    # A folder of tenant files (`<id>.yaml`, bot/tenants/files.py), one business each, answering
    # their own numbers. Unset: one business from BUSINESS_PROFILE, TWILIO_PHONE_NUMBER,
    # OWNER_PIN and the GOOGLE_* settings.
    tenants_dir: Path | None = None
    data_dir: Path = PROJECT_ROOT / "data"
    host: str = "0.0.0.0"
    port: int = 7860
    log_level: str = "INFO"
    # Set by server.main for its worker processes (prometheus_client's multiprocess switch).
    prometheus_multiproc_dir: Path | None = None
    # The WebRTC test page at GET /. Its calls run on the business's provider accounts, so it is
    # off unless switched on; off, its routes and assets do not exist (404). On, its API needs
    # `test_page_token` (a random one is made and logged at start-up when unset), and the calls
    # it starts are capped: at most `test_page_max_calls` at once, `test_page_calls_per_minute`.
    test_page_enabled: bool = False
    test_page_token: SecretStr | None = None
    test_page_max_calls: int = Field(default=2, ge=1)
    test_page_calls_per_minute: int = Field(default=6, ge=1)
    # FastAPI's /docs, /redoc and /openapi.json; they describe every route to whoever asks.
    api_docs_enabled: bool = False
    # Bearer token for GET /metrics (and the provider detail of /health and /ready). Unset:
    # /metrics answers 404.
    metrics_token: SecretStr | None = None
    # ICE servers for the WebRTC test page, comma-separated (stun:host:port, turn:host:port).
    # Empty means no STUN: the page works on this machine (loopback) and on a flat LAN.
    webrtc_ice_servers: Annotated[list[str], NoDecode] = []

    # Call behaviour.
    stream_token_ttl_secs: float = Field(default=120.0, gt=0)
    max_call_secs: float = Field(default=900.0, gt=0)
    silence_reprompt_secs: float = Field(default=8.0, gt=0)
    silence_reprompts: int = Field(default=2, ge=0)
    # A live call writes a heartbeat this often; one silent for `stale_call_secs` was lost
    # (crash or restart) and is closed as FAILED by whichever worker sweeps next.
    call_heartbeat_secs: float = Field(default=10.0, gt=0)
    stale_call_secs: float = Field(default=60.0, gt=0)
    # How often each worker sweeps lost calls and retries failed SMS.
    sweep_every_secs: float = Field(default=30.0, gt=0)
    # If the LLM has not started answering this long after the caller stops, a filler is spoken;
    # after `llm_give_up_secs` the call takes a message without the LLM.
    llm_stall_secs: float = Field(default=4.0, gt=0)
    llm_give_up_secs: float = Field(default=10.0, gt=0)
    # Speech asked of the TTS with no audio out after `tts_stall_secs`, or `tts_max_errors` TTS
    # errors, sends the caller to the spoken apology + voicemail and texts the owner. A dropped
    # STT socket is reopened at once; still down after `stt_reconnect_secs`, the same fallback.
    tts_stall_secs: float = Field(default=3.0, gt=0)
    tts_max_errors: int = Field(default=3, ge=1)
    stt_reconnect_secs: float = Field(default=4.0, gt=0)

    # The owner's PIN: 4 to 8 digits, typed on the keypad and ended with #, never spoken. Owner
    # mode needs it AND a call from an owner number. Empty: owner mode is off.
    owner_pin: SecretStr | None = None
    # Wrong PINs allowed within the window, per calling number and in total; past either limit
    # every PIN is refused (the right one too) until those failures are older than the window,
    # and the owner is texted once per lockout.
    owner_pin_failures_per_number: int = Field(default=5, ge=1)
    owner_pin_failures_total: int = Field(default=10, ge=1)
    owner_pin_window_secs: float = Field(default=86400.0, gt=0)
    # Per calling number, across calls, in any 24 hours: bookings, moves and cancellations;
    # texts to customers (also counted per destination); booking lookups.
    caller_changes_per_day: int = Field(default=5, ge=0)
    caller_texts_per_day: int = Field(default=5, ge=0)
    caller_lookups_per_day: int = Field(default=10, ge=0)

    # Emergency alerts: wait this long for the owner to reply before phoning, then the backup.
    emergency_ack_secs: float = Field(default=180.0, gt=0)
    # A POSSIBLE emergency (the detector is unsure) waits this long, from the caller's words, for the
    # caller to answer the LLM's question; then the owner is texted anyway (no phone calls). Once
    # the caller has answered, the LLM gets `llm_stall_secs` to confirm or dismiss it.
    emergency_confirm_secs: float = Field(default=20.0, gt=0)
    escalation_check_secs: float = Field(default=5.0, gt=0)
    # Largest Media Streams message accepted; Twilio's are about 300 bytes.
    max_ws_message_bytes: int = Field(default=64 * 1024, gt=0)
    # Server processes. 0 = one per CPU core when the browser test page is off (its WebRTC
    # peer connections live in one process), else one. Stream tokens and call state are in SQLite.
    workers: int = Field(default=0, ge=0)

    # Shutdown and admission (bot/drain.py, bot/admission.py).
    # On SIGTERM live calls get this long to end by themselves before the bot says goodbye and
    # hangs up. fly.toml's kill_timeout (300 s) = 260 s + up to 25 s of goodbye + exit.
    drain_secs: float = Field(default=260.0, ge=0)
    # Most concurrent calls on this machine, counted across worker processes in the database.
    # 0 = CALLS_PER_CORE per CPU core (see `call_limit`).
    max_calls: int = Field(default=0, ge=0)
    # A request's headers and body must arrive within this long of its first byte.
    request_read_timeout_secs: float = Field(default=10.0, gt=0)
    # Most HTTP connections one worker serves at once (uvicorn's limit_concurrency; over it: 503).
    # Live calls' WebSockets are not counted (uvicorn hands them off at the upgrade).
    max_connections: int = Field(default=200, gt=0)
    # A Media Streams upgrade must send `start` within this long; at most this many may wait
    # for it at once per worker (over it the upgrade is refused).
    stream_start_timeout_secs: float = Field(default=5.0, gt=0)
    max_pending_streams: int = Field(default=16, gt=0)

    @property
    def worker_count(self) -> int:
        """How many uvicorn worker processes `server.py` starts."""
        if self.workers:
            return self.workers
        return 1 if self.test_page_enabled else max(1, os.cpu_count() or 1)

    @field_validator("tenants_dir", "google_service_account_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("owner_pin")
    @classmethod
    def _owner_pin(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        pin = value.get_secret_value().strip()
        if not re.fullmatch(r"[0-9]{4,8}", pin):
            raise ValueError("must be 4 to 8 digits (the owner types it on the keypad, then #)")
        return SecretStr(pin)

    @property
    def call_limit(self) -> int:
        """Concurrent calls this machine accepts before callers are sent to voicemail."""
        return self.max_calls or CALLS_PER_CORE * max(1, os.cpu_count() or 1)

    @field_validator("public_base_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://example.fly.dev")
        return value.rstrip("/")

    @field_validator("deepgram_base_url", "cartesia_base_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("ws", "wss"):
            raise ValueError("must be a ws:// or wss:// URL")
        return value.rstrip("/")

    @field_validator("openai_base_url", "twilio_api_base_url", "google_calendar_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("webrtc_ice_servers", mode="before")
    @classmethod
    def _ice_urls(cls, value: object) -> object:
        if isinstance(value, str):
            value = [url.strip() for url in value.split(",") if url.strip()]
        schemes = ("stun:", "turn:", "turns:")
        if isinstance(value, list) and not all(str(url).startswith(schemes) for url in value):
            raise ValueError("each must be a stun:, turn: or turns: URL")
        return value

    # ---- derived facts -------------------------------------------------------------------

    @property
    def database_path(self) -> Path:
        """SQLite file holding calls, turns, tool calls, messages and the audit log."""
        return self.data_dir / "receptionist.sqlite3"

    @property
    def cartesia_ws_url(self) -> str:
        """Full Cartesia TTS WebSocket URL."""
        return f"{self.cartesia_base_url}/tts/websocket"

    @property
    def stream_url(self) -> str:
        """The Media Streams URL put in TwiML: wss:// for an https public URL."""
        parts = urlsplit(self.public_base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{parts.path}/twilio/ws"

    @cached_property
    def providers(self) -> dict[str, bool]:
        """Which external providers are configured, by name."""
        return {
            "deepgram": _secret_set(self.deepgram_api_key),
            "openai": _secret_set(self.openai_api_key),
            "cartesia": _secret_set(self.cartesia_api_key) and bool(self.cartesia_voice_id),
            "twilio": bool(self.twilio_account_sid) and _secret_set(self.twilio_auth_token),
            "google_calendar": bool(self.google_calendar_id)
            and self.google_service_account_file is not None,
        }

    @property
    def missing_providers(self) -> list[str]:
        """Providers a call cannot run without that are not configured."""
        needed = ("deepgram", "openai", "cartesia")
        return [name for name in needed if not self.providers[name]]

    @property
    def can_take_calls(self) -> bool:
        """A call needs speech in, a model, and speech out."""
        return not self.missing_providers


def settings_error(exc: ValidationError) -> str:
    """One line naming the first bad setting and why, never its value (it may be a secret)."""
    errors = exc.errors()
    first = errors[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    reason = first["msg"].removeprefix("Value error, ")
    more = len(errors) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"configuration error: {name}: {reason}{suffix}"


def secret_from_environment(name: str) -> SecretStr | None:
    """The environment variable `name`, for a command told which variable holds a secret.

    Command lines take secrets this way, never as arguments, which would land in shell history.
    Blank counts as unset.
    """
    one = create_model(
        "NamedSecret",
        __base__=BaseSettings,
        value=(SecretStr | None, Field(default=None, validation_alias=name)),
    )
    value = one(_env_file=None).model_dump()["value"]
    return value if isinstance(value, SecretStr) and _secret_set(value) else None


def load_settings() -> Settings:
    """Settings from the environment; a bad value stops start-up with `settings_error`'s line."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SystemExit(settings_error(exc)) from None
