"""Owner PIN attempts across calls: a lockout per calling number and in total, kept in SQLite.

Rules this module keeps:
- Each attempt is decided inside one `BEGIN IMMEDIATE` transaction (lockout check, verdict,
  failure recorded), so parallel calls on any worker cannot both slip under a limit.
- Locked out means: within `OWNER_PIN_WINDOW_SECS`, the calling number has
  `OWNER_PIN_FAILURES_PER_NUMBER` failures, or all numbers together have
  `OWNER_PIN_FAILURES_TOTAL`. While locked out no PIN is compared at all, the right one included,
  and the caller hears exactly what a wrong PIN gets. Refused attempts are not counted (they
  teach nothing), so a lockout ends when the failures that caused it leave the window.
- A lockout is texted to the owner once: by the failure that brings a count up to its limit.
- No PIN, right or wrong, is ever stored or logged; audit rows say only what happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from loguru import logger

from bot.pii import mask_phone
from bot.storage import Store

if TYPE_CHECKING:
    from bot.call_session import CallSession


class Verdict(StrEnum):
    """What one PIN attempt came to."""

    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"  # not compared: too many recent failures


@dataclass(frozen=True)
class PinCheck:
    """A verdict, and the lockout this attempt started (if it did)."""

    verdict: Verdict
    lockout: str | None = None  # "number" or "total"
    failure_id: int | None = None


class OwnerPinGuard:
    """Checks PINs against the limits; one per store and settings (cheap to create)."""

    def __init__(
        self,
        store: Store,
        *,
        per_number: int,
        total: int,
        window_secs: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._per_number = per_number
        self._total = total
        self._window = window_secs
        self._clock = clock

    async def check(self, caller: str, matched: bool, call_id: str | None) -> PinCheck:
        """Decide one keypad attempt from `caller` (see the module rules)."""
        now = self._clock()
        since = now - self._window
        async with self._store.transaction() as db:
            mine = await db.fetchone(
                "SELECT COUNT(*) FROM owner_pin_failures WHERE caller = ? AND at > ?",
                (caller, since),
            )
            everyone = await db.fetchone(
                "SELECT COUNT(*) FROM owner_pin_failures WHERE at > ?", (since,)
            )
            n_mine, n_all = int(mine[0]) if mine else 0, int(everyone[0]) if everyone else 0
            if n_mine >= self._per_number or n_all >= self._total:
                return PinCheck(Verdict.LOCKED)
            if matched:
                return PinCheck(Verdict.VERIFIED)
            cur = await db.execute(
                "INSERT INTO owner_pin_failures (at, caller, call_id) VALUES (?, ?, ?)",
                (now, caller, call_id),
            )
        lockout = None
        if n_mine + 1 >= self._per_number:
            lockout = "number"
        elif n_all + 1 >= self._total:
            lockout = "total"
        return PinCheck(Verdict.WRONG, lockout, int(cur.lastrowid or 0))


async def check_owner_pin(session: CallSession, keyed: str) -> bool:
    """Check a keypad PIN for this call: limits, audit row, owner text on a new lockout.

    Updates `session.is_owner` and `session.pin_attempts`; returns True only for the right PIN
    outside a lockout.
    """
    settings = session.settings
    if not session.may_try_owner_pin or session.caller is None:
        return False
    guard = OwnerPinGuard(
        session.store,
        per_number=settings.owner_pin_failures_per_number,
        total=settings.owner_pin_failures_total,
        window_secs=settings.owner_pin_window_secs,
    )
    # The hash takes tens of milliseconds: off the event loop, and outside the transaction.
    # The lockout still decides first, so a locked-out caller learns nothing from the answer.
    matched = await asyncio.to_thread(session.business.owner_pin_matches, keyed)
    result = await guard.check(session.caller, matched, session.call_id)
    if result.verdict is Verdict.VERIFIED:
        session.is_owner = True
    else:
        session.pin_attempts += 1
    action = {
        Verdict.VERIFIED: "owner.verified",
        Verdict.WRONG: "owner.pin_rejected",
        Verdict.LOCKED: "owner.pin_locked_out",
    }[result.verdict]
    await session.store.audit("caller", action, session.call_id, {"attempts": session.pin_attempts})
    if result.lockout is not None:
        await _lockout_started(session, result)
    return result.verdict is Verdict.VERIFIED


async def _lockout_started(session: CallSession, result: PinCheck) -> None:
    settings, profile = session.settings, session.profile
    logger.warning(
        "owner PIN locked out ({}) after failures from {}",
        result.lockout,
        mask_phone(session.caller),
    )
    await session.store.audit(
        "system", "owner.pin_lockout", session.call_id, {"scope": result.lockout}
    )
    if session.outbox is None:
        return
    hours = max(1, round(settings.owner_pin_window_secs / 3600))
    if result.lockout == "number":
        limit = settings.owner_pin_failures_per_number
        whom = f"from {mask_phone(session.caller)}"
    else:
        limit = settings.owner_pin_failures_total
        whom = "from your numbers"
    body = (
        f"{profile.name} receptionist: owner PIN entry is locked after {limit} wrong PINs {whom} "
        f"within {hours} h. If that was not you, someone may be trying your PIN; consider "
        "changing OWNER_PIN. It unlocks by itself as those attempts age out."
    )
    await session.outbox.text_owners(
        profile.owner.phones,
        key=f"owner_pin_lockout:{result.lockout}:{result.failure_id}",
        kind="owner_pin_lockout",
        body=body,
        call_id=session.call_id,
    )
