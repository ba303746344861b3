"""What one call has seen and proved about scheduling. Lives on the `CallSession`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.scheduling.availability import Slot


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Offered:
    """A slot read out in this call, and the words it answered (to find fresh options)."""

    slot: Slot
    when: str


@dataclass
class SchedulingState:
    """Per-call scheduling state; every field exists to stop a specific failure."""

    # The trusted "now" for this call's date words; tests pin it, production uses the clock.
    clock: Callable[[], datetime] = _utc_now
    # Slot id -> slot offered by check_availability in THIS call: booking accepts nothing else,
    # so the LLM can neither invent a time nor reuse one from another call.
    offered: dict[str, Offered] = field(default_factory=dict)
    # Slot id -> booking id made from it, so a repeated or interrupted book call books once.
    booked: dict[str, str] = field(default_factory=dict)
    # Booking ids the caller proved are theirs; reschedule and cancel accept nothing else.
    verified: set[str] = field(default_factory=set)
    # Tool name -> calls so far, to cap identity lookups and bookings per call (brute force, loops).
    attempts: Counter[str] = field(default_factory=Counter)
