"""Event-loop stall while an oversized request body is in flight (review H2), measured.

    uv run python -m tests.benchmark.body_stall [--root PATH] [--rounds 3] [--out FILE]

The server's own app (``server.app`` from ``--root``, default this checkout; point it at another
checkout to measure that code) is served by uvicorn inside this process, with the WebRTC test page
on so ``/api/offer`` is routed. A probe task on the same event loop sleeps 1 ms over and over and
records how late each wake-up is: any work that holds the loop (parsing, validating, encoding a
body) shows up there, exactly as a live call's 20 ms audio frames would feel it. The clients run
in a separate process (raw sockets, so Content-Length and chunked framing are both exercised and
the sender's own work never lands on the measured loop).

Each scenario sends its body ``--rounds`` times; reported per scenario: the HTTP status the client
got, seconds to the response, and the probe's worst lag and number of wake-ups more than 5 ms late
from the client's connect until 50 ms after its answer, and the longest stretch of CPU work on the
loop between two wake-ups ("busy", which tells the server's own work from scheduling noise); plus the same figures for an idle window as the baseline (the
machine's own scheduling noise). Nothing leaves 127.0.0.1; provider keys are dummies and no call
is started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
STALL_MS = 5.0
FORM = "application/x-www-form-urlencoded"

# name, path, content type, framing, body kind, size in bytes
SCENARIOS = [
    (
        "16 MB JSON, Content-Length -> /api/offer",
        "/api/offer",
        "application/json",
        "length",
        "json",
        16 * MB,
    ),
    (
        "16 MB JSON, chunked -> /api/offer",
        "/api/offer",
        "application/json",
        "chunked",
        "json",
        16 * MB,
    ),
    (
        "16 MB JSON array failing validation -> /api/offer",
        "/api/offer",
        "application/json",
        "length",
        "array",
        16 * MB,
    ),
    (
        "16 MB form, Content-Length -> /twilio/voice",
        "/twilio/voice",
        FORM,
        "length",
        "form",
        16 * MB,
    ),
    (
        "16 MB form, chunked -> /twilio/voice",
        "/twilio/voice",
        FORM,
        "chunked",
        "form",
        16 * MB,
    ),
    (
        "100 x 1 MB form fields -> /twilio/voice",
        "/twilio/voice",
        FORM,
        "length",
        "fields",
        100 * MB,
    ),
]

# The client: one request per invocation, its result as one JSON line on stdout.
CLIENT = r"""
import json, socket, sys, time
port, path, ctype, framing, kind, size = sys.argv[1:7]
size = int(size)
if kind == "json":
    body = b'{"sdp": "v=0", "type": "offer", "x": [' + b"0," * ((size - 40) // 2) + b"0]}"
elif kind == "array":
    body = b"[" + b"0," * ((size - 2) // 2) + b"0]"
elif kind == "form":
    body = b"CallSid=CA" + b"0" * 32 + b"&x=" + b"a" * (size - 45)
else:
    field = b"a" * (1024 * 1024 - 8)
    body = b"&".join(b"f%03d=" % i + field for i in range(size // (1024 * 1024)))
head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
head += f"Content-Length: {len(body)}\r\n\r\n" if framing == "length" else "Transfer-Encoding: chunked\r\n\r\n"
t0 = time.monotonic()
sock = socket.create_connection(("127.0.0.1", int(port)))
sock.settimeout(120)
sent, error = 0, None
try:
    sock.sendall(head.encode())
    step = 64 * 1024
    for i in range(0, len(body), step):
        piece = body[i:i + step]
        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece)
        sent += len(piece)
    if framing == "chunked":
        sock.sendall(b"0\r\n\r\n")
except OSError as exc:
    error = type(exc).__name__
t_sent = time.monotonic()
data = b""
try:
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            length = [l.split(b":", 1)[1] for l in data[:head_end].split(b"\r\n")
                      if l.lower().startswith(b"content-length:")]
            if length and len(data) >= head_end + 4 + int(length[0]):
                break
except OSError as exc:
    error = error or type(exc).__name__
t_done = time.monotonic()
status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None
print(json.dumps({"t0": t0, "t_done": t_done, "status": status, "sent": sent, "of": len(body), "error": error,
                  "secs": round(t_done - t0, 3), "send_secs": round(t_sent - t0, 3),
                  "response_bytes": len(data)}))
"""


class Probe:
    """Sleeps 1 ms in a loop on the server's event loop and records each wake-up.

    Per wake-up: how late it was (wall clock), and how much CPU the loop's thread used meanwhile.
    A late wake-up with little CPU used is the machine not scheduling the process (noise from
    other processes on a shared 2-core box); CPU used is work that held the loop.
    """

    def __init__(self) -> None:
        self.samples: list[tuple[float, float, float]] = []  # (time, lateness, loop CPU), seconds

    async def run(self) -> None:
        while True:
            start, cpu = time.monotonic(), time.thread_time()
            await asyncio.sleep(0.001)
            end = time.monotonic()
            self.samples.append((end, max(0.0, end - start - 0.001), time.thread_time() - cpu))

    def window(self, t0: float, t1: float) -> dict[str, float]:
        chosen = [(lag, cpu) for t, lag, cpu in self.samples if t0 <= t <= t1]
        if not chosen:
            return {"wakeups": 0, "max_ms": 0.0, "p99_ms": 0.0, "over_5ms": 0, "busy_max_ms": 0.0}
        lags = sorted(lag for lag, _ in chosen)
        return {
            "wakeups": len(lags),
            "max_ms": round(lags[-1] * 1000, 2),
            "p99_ms": round(lags[int(0.99 * (len(lags) - 1))] * 1000, 2),
            "over_5ms": sum(lag * 1000 > STALL_MS for lag in lags),
            # The longest stretch of CPU work on the loop between two wake-ups.
            "busy_max_ms": round(max(cpu for _, cpu in chosen) * 1000, 2),
        }


async def send(port: int, scenario: tuple, probe: Probe) -> dict:
    """Run one client; the loop is watched from its connect until 50 ms after its answer.

    Both processes read CLOCK_MONOTONIC (`time.monotonic`), so the client's times bound the window.
    """
    _, path, ctype, framing, kind, size = scenario
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT,
        str(port),
        path,
        ctype,
        framing,
        kind,
        str(size),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    result = json.loads(out.decode().strip().splitlines()[-1])
    await asyncio.sleep(0.05)
    result["loop"] = probe.window(result["t0"], result["t_done"] + 0.05)
    return result


async def main_async(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(args.root))
    os.chdir(tempfile.mkdtemp(prefix="body-stall-"))  # no .env from any checkout
    for key in [
        k for k in os.environ if k.startswith(("DEEPGRAM_", "OPENAI_", "CARTESIA_", "TWILIO_"))
    ]:
        del os.environ[key]
    os.environ.update(
        {
            "DATA_DIR": os.getcwd(),
            "TEST_PAGE_ENABLED": "true",
            "LOG_LEVEL": "WARNING",
            "PUBLIC_BASE_URL": "https://receptionist.example.test",
            # Dummy keys: the server is "ready" but no call is ever started here.
            "DEEPGRAM_API_KEY": "x",
            "OPENAI_API_KEY": "x",
            "CARTESIA_API_KEY": "x",
            "CARTESIA_VOICE_ID": "x",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "x",
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        }
    )
    import uvicorn

    import server  # noqa: PLC0415 (from --root)
    from bot.config import Settings

    server.app.state.settings = Settings()
    port = int(args.port)
    config = uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    serving = asyncio.create_task(uv.serve())
    while not uv.started:  # noqa: ASYNC110 (uvicorn offers no event for it)
        await asyncio.sleep(0.05)
    probe = Probe()
    probing = asyncio.create_task(probe.run())
    await asyncio.sleep(1.0)
    # The first request into the app pays one-time costs (FastAPI and Starlette set up on first
    # use, whatever the body); small requests take them first, and are reported on their own.
    warm_up = [
        await send(
            port, ("warm-up", "/api/offer", "application/json", "chunked", "json", 200), probe
        ),
        await send(port, ("warm-up", "/twilio/voice", FORM, "chunked", "form", 200), probe),
    ]

    t0 = time.monotonic()
    await asyncio.sleep(3.0)
    report = {
        "code": str(args.root),
        "commit": args.commit,
        "idle_3s": probe.window(t0, time.monotonic()),
        "warm_up": warm_up,
        "scenarios": [],
    }
    for scenario in SCENARIOS:
        rounds = []
        for _ in range(args.rounds):
            rounds.append(await send(port, scenario, probe))
            await asyncio.sleep(0.3)
        report["scenarios"].append({"name": scenario[0], "rounds": rounds})
        worst = max(r["loop"]["max_ms"] for r in rounds)
        print(
            f"{scenario[0]:<52} status={[r['status'] for r in rounds]} "
            f"response_s(median)={statistics.median(r['secs'] for r in rounds):.3f} "
            f"loop late max={worst:.1f} ms, wake-ups >5 ms late="
            f"{[r['loop']['over_5ms'] for r in rounds]}, loop busy max="
            f"{max(r['loop']['busy_max_ms'] for r in rounds):.1f} ms",
            flush=True,
        )
    probing.cancel()
    uv.should_exit = True
    await serving
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server.py to serve")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", default="7971")
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    args = parser.parse_args()
    args.root = args.root.resolve()
    args.commit = subprocess.run(
        ["git", "-C", str(args.root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    report = asyncio.run(main_async(args))
    print(f"idle baseline: {report['idle_3s']}")
    for request in report["warm_up"]:
        print(f"warm-up (small body, first into the app): {request['status']} {request['loop']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
