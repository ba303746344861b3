"""Summarise py-spy raw (collapsed) stacks: where the server's CPU goes.

    uv run python -m tests.benchmark.flame_top PROFILE.txt [--top 25]

Prints the functions with the most samples on top of the stack (self) and anywhere in it (total).
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for name in args.files:
        for line in Path(name).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            samples += n
            frames = [
                f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
                for f in stack.split(";")
            ]
            own[frames[-1]] += n
            for frame in set(frames):
                total[frame] += n
    print(f"{samples} samples")
    print("-- self")
    for frame, n in own.most_common(args.top):
        print(f"{100 * n / samples:5.1f}%  {frame}")
    print("-- total")
    for frame, n in total.most_common(args.top):
        print(f"{100 * n / samples:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
