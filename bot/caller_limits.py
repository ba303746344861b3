"""Limits per calling number across calls, in any 24 hours, kept in SQLite.

Rules this module keeps:
- A use is checked and counted in one `BEGIN IMMEDIATE` transaction, so parallel calls (on any
  worker) cannot both take the last one.
- Uses are counted when they are attempted, not when they succeed: the limits stop a caller from
  filling the calendar, sending texts to strangers or guessing booking codes, and failures are
  what guessing looks like.
- A withheld caller ID counts as one number, `withheld`.
- A use may also name a target (a text's destination); it is then refused when either the
  caller or the target is at the limit, so rotating spoofed caller IDs cannot flood one phone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.config import Settings
from bot.storage import Store

DAY_SECS = 86400.0
ACTIONS = ("change", "text", "lookup")  # bookings/moves/cancellations, customer texts, lookups


class CallerLimits:
    """Per-number daily limits for each action in `ACTIONS`."""

    def __init__(
        self,
        store: Store,
        limits: dict[str, int],
        *,
        window_secs: float = DAY_SECS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = set(limits) - set(ACTIONS)
        if unknown:
            raise ValueError(f"unknown actions: {sorted(unknown)}")
        self._store = store
        self._limits = limits
        self._window = window_secs
        self._clock = clock

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> CallerLimits:
        """The limits configured by `CALLER_*_PER_DAY`."""
        return cls(
            store,
            {
                "change": settings.caller_changes_per_day,
                "text": settings.caller_texts_per_day,
                "lookup": settings.caller_lookups_per_day,
            },
        )

    async def take(
        self,
        action: str,
        caller: str | None,
        *,
        target: str | None = None,
        call_id: str | None = None,
    ) -> bool:
        """Count one use by `caller` (and to `target`); False, counting nothing, if over a limit."""
        limit = self._limits[action]
        who = caller or "withheld"
        now = self._clock()
        since = now - self._window
        async with self._store.transaction() as db:
            row = await db.fetchone(
                "SELECT COUNT(*) FROM caller_usage WHERE action = ? AND caller = ? AND at > ?",
                (action, who, since),
            )
            used = int(row[0]) if row else 0
            if target is not None:
                row = await db.fetchone(
                    "SELECT COUNT(*) FROM caller_usage WHERE action = ? AND target = ? AND at > ?",
                    (action, target, since),
                )
                used = max(used, int(row[0]) if row else 0)
            if used >= limit:
                return False
            await db.execute(
                "INSERT INTO caller_usage (at, action, caller, target, call_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (now, action, who, target, call_id),
            )
        return True
