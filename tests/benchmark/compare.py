"""Before/after table from two benchmark runs (``results.json`` of ``tests.benchmark.run``).

uv run python -m tests.benchmark.compare BEFORE/results.json AFTER/results.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _f(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def row(r: dict) -> list[str]:
    v, o, g = r["v2v_ms"], r["overhead_ms"], r["greeting_ms"]
    return [
        f"{_f(v['p50'])} / {_f(v['p95'])}",
        _f(o["p95"]),
        _f(g["p50"]),
        f"{r['server_cpu_cores_per_call']:.3f}",
        f"{r['rss_per_call_mb']:.1f}",
        f"{r['underruns']} ({r.get('underruns_60ms_buffer', '–')})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    args = parser.parse_args()
    before = {
        (r["latency"], r["calls"]): r for r in json.loads(Path(args.before).read_text())["levels"]
    }
    after = json.loads(Path(args.after).read_text())["levels"]
    heads = [
        "v2v p50 / p95",
        "overhead p95",
        "greeting p50",
        "CPU cores/call",
        "RSS MB/call",
        "underruns (60 ms buf.)",
    ]
    print("| latency | calls | " + " | ".join(f"{h} before → after" for h in heads) + " |")
    print("|---|---|" + "---|" * len(heads))
    for r in after:
        b = before.get((r["latency"], r["calls"]))
        if b is None:
            continue
        cells = [f"{x} → {y}" for x, y in zip(row(b), row(r), strict=True)]
        print(f"| {r['latency']} | {r['calls']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
