"""A process that writes to the receptionist's database as hard as a busy worker would.

    python -m tests.sqlite_hammer DB_PATH --tasks 10 --rounds 20

Opens the database through `bot.storage.Store` (exactly as a server worker does), creates one call
per task and has every task append turns and tool calls and write heartbeats concurrently. Prints
one JSON line: writes done, errors (type and message), write latency percentiles in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from pathlib import Path

from bot.storage import Store


async def hammer(path: Path, tasks: int, rounds: int) -> dict:
    store = await Store.open(path)
    latencies: list[float] = []
    errors: list[str] = []
    call_ids: list[str] = []

    async def timed(write) -> None:
        started = time.perf_counter()
        try:
            await write
        except Exception as exc:  # counted and reported: the test asserts there are none
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append((time.perf_counter() - started) * 1000)

    async def one_call(n: int) -> None:
        call_sid = "CA" + secrets.token_hex(16)
        call_ids.append(call_sid)
        await timed(store.open_twilio_call(call_sid, "+15551230000", "+15550100000", "hammer"))
        for i in range(rounds):
            await timed(store.add_turn(call_sid, "caller", f"caller turn {i} of task {n}"))
            await timed(
                store.add_tool_call(
                    call_sid,
                    name="check_availability",
                    tool_call_id=f"call_{n}_{i}",
                    arguments={"day": "tomorrow", "i": i},
                    result={"slots": ["09:00", "10:00"]},
                    ok=True,
                    started_at="2026-12-02T10:00:00+00:00",
                    duration_ms=1.0,
                )
            )
            await timed(store.heartbeat(call_sid))

    await asyncio.gather(*(one_call(n) for n in range(tasks)))
    await store.close()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "writes": len(latencies),
        "errors": errors,
        "call_ids": call_ids,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    result = asyncio.run(hammer(args.db, args.tasks, args.rounds))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
