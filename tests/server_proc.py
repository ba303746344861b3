"""Start the real server (`server.py`) as a separate process, pointed at the provider fakes."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
# What Twilio would see: a public https URL in front of the server. Signatures are computed
# against it, as Twilio does, while the fake caller really connects to 127.0.0.1.
PUBLIC_BASE_URL = "https://receptionist.example.test"
# Every server under test gets this METRICS_TOKEN unless a test overrides it; scrape with
# `METRICS_HEADERS`.
METRICS_TOKEN = "test-metrics-token"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}

# Settings the server must not pick up from the developer's shell.
_SCRUB = (
    "DEEPGRAM_",
    "OPENAI_",
    "CARTESIA_",
    "TWILIO_",
    "GOOGLE_",
    "PUBLIC_BASE_URL",
    "BUSINESS_PROFILE",
    "DATA_DIR",
    "HOST",
    "PORT",
    "LOG_LEVEL",
    "MAX_CALL_SECS",
    "SILENCE_",
    "STREAM_TOKEN_",
    "MAX_WS_",
    "PIPECAT_",
    "TEST_PAGE_",
    "WEBRTC_",
    "WORKERS",
    "METRICS_",
    "API_DOCS_",
    "SWEEP_",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    """A server process under test, with its database and log."""

    proc: subprocess.Popen
    url: str
    public_base_url: str
    data_dir: Path
    log_path: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "receptionist.sqlite3"

    def rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Read the server's database (a separate read-only connection)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            return list(conn.execute(sql, params).fetchall())
        finally:
            conn.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_server(tmp_dir: Path, env: dict[str, str], *, timeout: float = 60.0) -> RunningServer:
    """Run `server.py` on a free port with `env` on top of a scrubbed environment."""
    port = free_port()
    data_dir = tmp_dir / "data"
    log_path = tmp_dir / "server.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    full_env = (
        base
        | {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATA_DIR": str(data_dir),
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "LOG_LEVEL": "INFO",
            # One process unless a test asks for more: the default depends on TEST_PAGE_ENABLED and
            # the machine's cores, and tests must not.
            "WORKERS": "1",
            "METRICS_TOKEN": METRICS_TOKEN,
            # A module's tests share one server and leave calls ACTIVE that never streamed; the call
            # limit is tested with its own value (tests/test_admission.py), not hit by accident.
            "MAX_CALLS": "1000",
            # A server stopped with a call still live says goodbye after this, not after 260 s.
            "DRAIN_SECS": "5",
        }
        | env
    )
    log = log_path.open("wb")
    # cwd is the temp dir so a developer's .env in the project root is never read.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "server.py")],
        cwd=tmp_dir,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = RunningServer(proc, f"http://127.0.0.1:{port}", PUBLIC_BASE_URL, data_dir, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")


def worker_processes(server: RunningServer) -> list[psutil.Process]:
    """The processes serving calls: uvicorn's spawned workers, or the server itself if it has none."""
    root = psutil.Process(server.proc.pid)
    spawned = [p for p in root.children() if "spawn_main" in " ".join(p.cmdline())]
    return spawned or [root]


def listens_on(process: psutil.Process, port: int) -> bool:
    """Whether the process has a listening socket on `port` (False once it has gone)."""
    try:
        return any(
            c.status == "LISTEN" and c.laddr.port == port for c in process.net_connections("tcp")
        )
    except psutil.Error:
        return False


def port_of(server: RunningServer) -> int:
    return int(server.url.rsplit(":", 1)[1])
