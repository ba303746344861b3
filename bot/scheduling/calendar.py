"""The `Calendar` protocol, and the built-in calendar kept in the project's SQLite database.

Two implementations:
- `SqliteCalendar` (here): the ledger is the calendar. Booking claims the slot's cells under a
  UNIQUE constraint inside `BEGIN IMMEDIATE` and re-checks overlaps in the same transaction.
- `GoogleCalendar` (`bot.scheduling.google_calendar`): the same ledger claim first, then Google
  Calendar with deterministic event ids, private extended properties and etags.

Every method either does what it says or raises a `SchedulingError`; a change the calendar could
not take right now comes back as `Outcome(pending=True)` with a pending request stored for the
office, never as a silent success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.profile import BusinessProfile
from bot.scheduling.availability import Interval
from bot.scheduling.ledger import Booking, Ledger


@dataclass(frozen=True)
class Outcome:
    """What a booking, move or cancellation did."""

    booking: Booking  # as it stands now
    pending: bool = False  # True: the calendar could not take it; the office will finish it


class Calendar(Protocol):
    """Where one business's appointments live."""

    kind: str  # "builtin" | "google"
    key: str  # which claims in the ledger belong to this calendar

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Everything that occupies time in [start, end): bookings and events added by hand."""
        ...

    async def book(self, booking: Booking) -> Outcome:
        """Claim and record a new booking, or raise `SlotTaken` / `CalendarError`."""
        ...

    async def move(self, booking: Booking, start: datetime, end: datetime) -> Outcome:
        """Move a booking to a new time, or raise `SlotTaken` / `CalendarConflict`."""
        ...

    async def cancel(self, booking: Booking) -> Outcome:
        """Cancel a booking, or raise `CalendarConflict`."""
        ...


class SqliteCalendar:
    """The built-in calendar: the ledger alone, for businesses without Google Calendar."""

    kind = "builtin"

    def __init__(self, ledger: Ledger, profile: BusinessProfile, key: str) -> None:
        self._ledger = ledger
        self._buffer = timedelta(minutes=profile.scheduling.buffer_minutes)
        self.key = key

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Active bookings in the window."""
        return await self._ledger.busy(self.key, start, end)

    async def book(self, booking: Booking) -> Outcome:
        """Claim the time; the claim is the booking."""
        held = await self._ledger.claim(self.key, booking, self._buffer)
        return Outcome(await self._ledger.set_status(held, "confirmed"))

    async def move(self, booking: Booking, start: datetime, end: datetime) -> Outcome:
        """Hold the new time, then let go of the old one."""
        await self._ledger.claim_move(self.key, booking, start, end, self._buffer)
        return Outcome(await self._ledger.finish_move(booking, start, end, self._buffer))

    async def cancel(self, booking: Booking) -> Outcome:
        """Mark it cancelled and free its time."""
        return Outcome(await self._ledger.set_status(booking, "cancelled"))
