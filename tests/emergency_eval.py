"""Emergency triage measured on labelled caller sentences: `uv run python -m tests.emergency_eval`.

Each file in tests/emergency_sentences/ lists sentences labelled none / emergency / life by hand.
The numbers printed per file (and the thresholds the issue sets):
- false alarms: non-emergencies given any outcome but NONE, as a share of non-emergencies (<= 3%);
- life missed: life-threatening sentences not CERTAIN + life-threatening (0);
- wrong evacuation: non-emergencies (negated, past, asked about...) given the life-threatening
  script (0); "emerg->life" counts real emergencies given it (not a failure, reported);
- caught: real emergencies (emergency or life) found CERTAIN or POSSIBLE (>= 98%).
`--heldout` adds the held-out files, which are never used for tuning; `-v` lists every miss;
`--speed` prints the time one transcript takes (triage runs on the event loop of a live call).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.config import DEFAULT_PROFILE
from bot.profile import load_profile
from bot.triage import Outcome, assess

DATA = Path(__file__).parent / "emergency_sentences"
LABELS = ("none", "emergency", "life")


@dataclass
class Score:
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    false_alarms: list[str] = field(default_factory=list)
    life_missed: list[str] = field(default_factory=list)
    wrong_evacuation: list[str] = field(default_factory=list)
    over_escalated: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    certain: int = 0

    @property
    def real(self) -> int:
        return self.counts["emergency"] + self.counts["life"]

    @property
    def false_alarm_rate(self) -> float:
        return len(self.false_alarms) / max(1, self.counts["none"])

    @property
    def caught_rate(self) -> float:
        return (self.real - len(self.missed)) / max(1, self.real)


def load(path: Path) -> tuple[str, list[dict]]:
    doc = yaml.safe_load(path.read_text())
    for row in doc["sentences"]:
        if row.get("label") not in LABELS or not str(row.get("text", "")).strip():
            raise ValueError(f"{path.name}: bad row {row!r}")
    return doc["profile"], doc["sentences"]


def score(path: Path) -> Score:
    profile_file, rows = load(path)
    profile = load_profile(DEFAULT_PROFILE.parent / profile_file)
    result = Score(path.stem)
    for row in rows:
        label, text = row["label"], row["text"]
        result.counts[label] += 1
        found = assess(text, profile.emergency, kind=profile.kind)
        if label == "none":
            if found.outcome is not Outcome.NONE:
                result.false_alarms.append(f"{found.outcome}: {text}  [{'; '.join(found.cues)}]")
        else:
            if found.outcome is Outcome.NONE:
                result.missed.append(f"{label}: {text}  [{'; '.join(found.cues)}]")
            elif found.outcome is Outcome.CERTAIN:
                result.certain += 1
        if label == "life" and not (found.outcome is Outcome.CERTAIN and found.life_threatening):
            result.life_missed.append(f"{found.outcome}: {text}")
        if label == "none" and found.life_threatening:
            result.wrong_evacuation.append(text)
        if label == "emergency" and found.life_threatening:
            result.over_escalated.append(text)
    return result


def files(heldout: bool) -> list[Path]:
    chosen = sorted(p for p in DATA.glob("*.yaml") if not p.stem.endswith("_heldout"))
    if heldout:
        chosen += sorted(DATA.glob("*_heldout.yaml"))
    return chosen


def table(scores: list[Score]) -> str:
    head = (
        f"{'set':<30} {'none':>5} {'emerg':>5} {'life':>5} {'false alarms':>14} "
        f"{'life missed':>11} {'wrong evac':>10} {'emerg->life':>11} {'caught':>14} {'certain':>8}"
    )
    lines = [head, "-" * len(head)]
    for s in scores:
        lines.append(
            f"{s.name:<30} {s.counts['none']:>5} {s.counts['emergency']:>5} {s.counts['life']:>5} "
            f"{len(s.false_alarms):>4} ({s.false_alarm_rate:>5.1%}) {len(s.life_missed):>11} "
            f"{len(s.wrong_evacuation):>10} {len(s.over_escalated):>11} {s.real - len(s.missed):>4}/{s.real:<3} ({s.caught_rate:>5.1%}) "
            f"{s.certain:>8}"
        )
    return "\n".join(lines)


def speed(paths: list[Path], rounds: int = 3) -> str:
    """Mean and worst time of one `assess` call over every labelled sentence."""
    times = []
    for path in paths:
        profile_file, rows = load(path)
        profile = load_profile(DEFAULT_PROFILE.parent / profile_file)
        for _ in range(rounds):
            for row in rows:
                start = time.perf_counter()
                assess(row["text"], profile.emergency, kind=profile.kind)
                times.append(time.perf_counter() - start)
    times.sort()
    return (
        f"triage time per transcript over {len(times)} runs: mean {sum(times) / len(times) * 1000:.2f} ms, "
        f"p99 {times[int(len(times) * 0.99)] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms"
    )


def main(argv: list[str]) -> int:
    scores = [score(p) for p in files("--heldout" in argv)]
    print(table(scores))
    if "--speed" in argv:
        print(speed(files(heldout=True)))
    if "-v" in argv:
        for s in scores:
            for title, items in (
                ("false alarms", s.false_alarms),
                ("missed", s.missed),
                ("life missed", s.life_missed),
                ("wrong evacuation", s.wrong_evacuation),
                ("emergency given the life script", s.over_escalated),
            ):
                for item in items:
                    print(f"{s.name} {title}: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
