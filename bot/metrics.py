"""Prometheus metrics for the receptionist (served at GET /metrics).

Latencies are observed where Pipecat reports them (`pipelines.latency`); call counts where a call
starts and ends (`pipelines.receptionist`). Event-loop lag is sampled by `watch_event_loop`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REGISTRY = CollectorRegistry()
_LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0)

TURN_LATENCY = Histogram(
    "receptionist_turn_latency_seconds",
    "Caller falls silent to the bot's first audio, per reply.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
GREETING_LATENCY = Histogram(
    "receptionist_time_to_greeting_seconds",
    "Stream start to the first greeting audio.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
ACTIVE_CALLS = Gauge(
    "receptionist_active_calls",
    "Calls with a running pipeline (summed over live worker processes).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
CALLS_ENDED = Counter(
    "receptionist_calls_total", "Calls that ended, by outcome.", ["status"], registry=REGISTRY
)
CALLS_REFUSED = Counter(
    "receptionist_calls_refused_total",
    "Incoming calls sent to voicemail without streaming: over_capacity or server_draining.",
    ["reason"],
    registry=REGISTRY,
)
MALFORMED_FRAMES = Counter(
    "receptionist_malformed_frames_total", "Media Streams messages dropped.", registry=REGISTRY
)
SMART_TURN_EARLY = Counter(
    "receptionist_smart_turn_early_total",
    "smart-turn inferences started inside the VAD stop window: used at the stop, or dropped "
    "because the caller spoke again.",
    ["outcome"],
    registry=REGISTRY,
)
UNKNOWN_NUMBER = Counter(
    "receptionist_unknown_number_total",
    "Signed webhooks for a number no enabled business answers (an apology, no record).",
    ["route"],
    registry=REGISTRY,
)
BACKGROUND_FAILURES = Counter(
    "receptionist_background_failures_total",
    "Periodic jobs that raised: the stale-call sweep, the SMS outbox retry.",
    ["task"],
    registry=REGISTRY,
)
LOOP_LAG = Histogram(
    "receptionist_event_loop_lag_seconds",
    "How late a 100 ms timer fires on the server's event loop.",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)


def render(multiprocess_dir: Path | None = None) -> bytes:
    """The metrics in Prometheus' text format, from every worker process when there are several.

    With several workers `server.main` exports PROMETHEUS_MULTIPROC_DIR (prometheus_client's own
    switch, read by the library at import in each worker); Settings reads it back as
    `prometheus_multiproc_dir`, and it is passed here.
    """
    if multiprocess_dir is not None:
        registry = CollectorRegistry()
        # prometheus_client leaves MultiProcessCollector.__init__ unannotated.
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def watch_event_loop(period: float = 0.1) -> None:
    """Forever: sleep `period` and record how late the wake-up was."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(period)
        LOOP_LAG.observe(max(0.0, time.perf_counter() - start - period))
