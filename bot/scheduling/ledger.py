"""The booking ledger in SQLite: claims that make a double booking impossible on this host.

Every booking, whichever calendar it ends up in, is first claimed here:
- one row in `bookings` (who, what, when, status);
- one row in `slot_claims` per 5-minute cell the job covers, from its start to its end plus the
  business's buffer. `(calendar_key, cell)` is the primary key, so two jobs that would come
  closer than the buffer can never both hold their cells: SQLite itself refuses the second.
The claim runs inside one `BEGIN IMMEDIATE` transaction (so it is serialised with every other
writer, in this process and in any other on the host) and re-checks overlaps against the
`bookings` rows before it inserts the cells. No network call ever happens inside it.

Statuses: `held` (claimed, calendar write in flight) -> `confirmed`, or `pending` (the calendar
could not be reached; the office confirms by hand; the cells stay claimed), or `released` (the
calendar said no). `confirmed` -> `cancelled`. Only `held`, `confirmed` and `pending` are busy.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.scheduling.availability import Interval
from bot.scheduling.errors import BookingNotFound, SlotTaken
from bot.storage import Row, Store, Transaction, utc_now

CELL_MINUTES = 5
ACTIVE = ("held", "confirmed", "pending")
_ACTIVE_SQL = "('held', 'confirmed', 'pending')"

SCHEMA = """
CREATE TABLE IF NOT EXISTS bookings (
    id            TEXT PRIMARY KEY,
    calendar_key  TEXT NOT NULL,
    service_id    TEXT NOT NULL,
    start_utc     TEXT NOT NULL,
    end_utc       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                    ('held', 'confirmed', 'pending', 'released', 'cancelled')),
    customer_name TEXT NOT NULL,
    phone         TEXT NOT NULL,
    address       TEXT NOT NULL,
    summary       TEXT NOT NULL,
    emergency     INTEGER NOT NULL DEFAULT 0,
    call_id       TEXT,
    event_id      TEXT,
    etag          TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bookings_phone ON bookings (calendar_key, phone, status);
CREATE INDEX IF NOT EXISTS bookings_start ON bookings (calendar_key, start_utc);

CREATE TABLE IF NOT EXISTS slot_claims (
    calendar_key TEXT NOT NULL,
    cell         INTEGER NOT NULL,
    booking_id   TEXT NOT NULL REFERENCES bookings (id),
    PRIMARY KEY (calendar_key, cell)
);
CREATE INDEX IF NOT EXISTS slot_claims_booking ON slot_claims (booking_id);

CREATE TABLE IF NOT EXISTS pending_requests (
    id          INTEGER PRIMARY KEY,
    booking_id  TEXT NOT NULL REFERENCES bookings (id),
    kind        TEXT NOT NULL CHECK (kind IN ('book', 'reschedule', 'cancel')),
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    resolved_at TEXT
);
"""

_COLUMNS = (
    "id, service_id, start_utc, end_utc, status, customer_name, phone, address, summary,"
    " emergency, call_id, event_id, etag"
)


@dataclass(frozen=True)
class Booking:
    """One appointment as the ledger knows it (times in UTC)."""

    id: str
    service_id: str
    start: datetime
    end: datetime
    status: str
    customer_name: str
    phone: str  # E.164
    address: str
    summary: str
    emergency: bool
    call_id: str | None
    event_id: str | None = None  # the calendar event, when the calendar is external
    etag: str | None = None  # the event's etag as we last saw it

    @property
    def interval(self) -> Interval:
        """The time the job takes."""
        return Interval(self.start, self.end)


def new_booking_id() -> str:
    """A fresh booking id: 16 characters of lowercase base32hex (also valid in Google ids)."""
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def booking_code(booking_id: str) -> str:
    """The six-digit booking code: texted with each confirmation, asked for before a change.

    Derived from the (random, never spoken) booking id, so every booking has one; digits only,
    because letters are misheard on the phone ('B', 'D', 'E', 'P', 'T', 'V').
    """
    digest = hashlib.sha256(booking_id.encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _cells(start: datetime, end: datetime, buffer: timedelta) -> list[int]:
    """5-minute cells (epoch minutes) covering [start, end + buffer), rounded outwards."""
    first = int(start.timestamp() // 60) // CELL_MINUTES * CELL_MINUTES
    last = int(-(-(end + buffer).timestamp() // 60))
    return list(range(first, last, CELL_MINUTES))


def _row(row: Row) -> Booking:
    return Booking(
        id=row[0],
        service_id=row[1],
        start=datetime.fromisoformat(row[2]),
        end=datetime.fromisoformat(row[3]),
        status=row[4],
        customer_name=row[5],
        phone=row[6],
        address=row[7],
        summary=row[8],
        emergency=bool(row[9]),
        call_id=row[10],
        event_id=row[11],
        etag=row[12],
    )


class Ledger:
    """Claims, bookings and pending requests for every calendar, in the project's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def setup(self) -> None:
        """Create the tables this module keeps."""
        await self._store.ensure_schema(SCHEMA)

    # ---- claims ------------------------------------------------------------------------------

    async def claim(self, calendar_key: str, booking: Booking, buffer: timedelta) -> Booking:
        """Hold the booking's time, or raise `SlotTaken`. One `BEGIN IMMEDIATE` transaction."""
        cells = _cells(booking.start, booking.end, buffer)
        try:
            async with self._store.transaction() as db:
                await self._check_free(db, calendar_key, booking, buffer, cells)
                now = utc_now()
                await db.execute(
                    f"INSERT INTO bookings ({_COLUMNS}, calendar_key, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'held', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        booking.id,
                        booking.service_id,
                        _iso(booking.start),
                        _iso(booking.end),
                        booking.customer_name,
                        booking.phone,
                        booking.address,
                        booking.summary,
                        int(booking.emergency),
                        booking.call_id,
                        booking.event_id,
                        booking.etag,
                        calendar_key,
                        now,
                        now,
                    ),
                )
                await self._insert_cells(db, calendar_key, booking.id, cells)
                await db.audit(
                    "scheduling", "booking.claimed", booking.call_id, {"booking_id": booking.id}
                )
        except sqlite3.IntegrityError:
            raise SlotTaken() from None
        return replace(booking, status="held")

    async def _check_free(
        self,
        db: Transaction,
        calendar_key: str,
        booking: Booking,
        buffer: timedelta,
        cells: list[int],
    ) -> None:
        """Raise SlotTaken if another active booking comes within the buffer (commit-time check)."""
        clash = await db.fetchone(
            f"SELECT 1 FROM bookings WHERE calendar_key = ? AND status IN {_ACTIVE_SQL} AND id != ?"
            " AND start_utc < ? AND end_utc > ? LIMIT 1",
            (
                calendar_key,
                booking.id,
                _iso(booking.end + buffer),
                _iso(booking.start - buffer),
            ),
        )
        if clash is None and cells:
            marks = ",".join("?" * len(cells))
            clash = await db.fetchone(
                f"SELECT 1 FROM slot_claims WHERE calendar_key = ? AND booking_id != ?"
                f" AND cell IN ({marks}) LIMIT 1",
                (calendar_key, booking.id, *cells),
            )
        if clash is not None:
            raise SlotTaken()

    async def _insert_cells(
        self, db: Transaction, calendar_key: str, booking_id: str, cells: list[int]
    ) -> None:
        for cell in cells:
            await db.execute(
                "INSERT INTO slot_claims (calendar_key, cell, booking_id) VALUES (?, ?, ?)",
                (calendar_key, cell, booking_id),
            )

    async def claim_move(
        self,
        calendar_key: str,
        booking: Booking,
        start: datetime,
        end: datetime,
        buffer: timedelta,
    ) -> list[int]:
        """First half of a move: also hold the new time (the old one stays held), or SlotTaken.

        Returns the cells added, for `finish_move` or `abort_move`. Holding both times while
        the calendar is updated means a failed update can always fall back to the old time.
        """
        moved = replace(booking, start=start, end=end)
        cells = _cells(start, end, buffer)
        try:
            async with self._store.transaction() as db:
                await self._check_free(db, calendar_key, moved, buffer, cells)
                rows = await db.fetchall(
                    "SELECT cell FROM slot_claims WHERE booking_id = ?", (booking.id,)
                )
                own = {int(r[0]) for r in rows}
                added = [c for c in cells if c not in own]
                await self._insert_cells(db, calendar_key, booking.id, added)
        except sqlite3.IntegrityError:
            raise SlotTaken() from None
        return added

    async def finish_move(
        self,
        booking: Booking,
        start: datetime,
        end: datetime,
        buffer: timedelta,
        *,
        etag: str | None = None,
        call_id: str | None = None,
    ) -> Booking:
        """Second half of a move: drop the old time's cells and record the new time."""
        keep = _cells(start, end, buffer)
        marks = ",".join("?" * len(keep)) or "NULL"
        async with self._store.transaction() as db:
            await db.execute(
                f"DELETE FROM slot_claims WHERE booking_id = ? AND cell NOT IN ({marks})",
                (booking.id, *keep),
            )
            await db.execute(
                "UPDATE bookings SET start_utc = ?, end_utc = ?, etag = COALESCE(?, etag),"
                " updated_at = ? WHERE id = ?",
                (_iso(start), _iso(end), etag, utc_now(), booking.id),
            )
            await db.audit(
                "scheduling",
                "booking.moved",
                call_id or booking.call_id,
                {"booking_id": booking.id, "from": _iso(booking.start), "to": _iso(start)},
            )
        return replace(booking, start=start, end=end, etag=etag or booking.etag)

    async def abort_move(self, booking: Booking, added: list[int]) -> None:
        """Undo `claim_move`: release the cells it added."""
        if not added:
            return
        marks = ",".join("?" * len(added))
        async with self._store.transaction() as db:
            await db.execute(
                f"DELETE FROM slot_claims WHERE booking_id = ? AND cell IN ({marks})",
                (booking.id, *added),
            )

    async def set_status(
        self,
        booking: Booking,
        status: str,
        *,
        event_id: str | None = None,
        etag: str | None = None,
        call_id: str | None = None,
    ) -> Booking:
        """Change a booking's status; leaving the active statuses frees its cells."""
        async with self._store.transaction() as db:
            await db.execute(
                "UPDATE bookings SET status = ?, event_id = COALESCE(?, event_id),"
                " etag = COALESCE(?, etag), updated_at = ? WHERE id = ?",
                (status, event_id, etag, utc_now(), booking.id),
            )
            if status not in ACTIVE:
                await db.execute("DELETE FROM slot_claims WHERE booking_id = ?", (booking.id,))
            await db.audit(
                "scheduling",
                f"booking.{status}",
                call_id or booking.call_id,
                {"booking_id": booking.id},
            )
        return replace(
            booking,
            status=status,
            event_id=event_id or booking.event_id,
            etag=etag or booking.etag,
        )

    async def set_etag(self, booking_id: str, etag: str | None) -> None:
        """Remember the event's etag as last seen."""
        async with self._store.transaction() as db:
            await db.execute(
                "UPDATE bookings SET etag = ?, updated_at = ? WHERE id = ?",
                (etag, utc_now(), booking_id),
            )

    async def add_pending(
        self,
        booking: Booking,
        kind: str,
        reason: str,
        detail: dict[str, Any],
        call_id: str | None,
    ) -> int:
        """Store a request the office must finish by hand (the calendar could not be reached)."""
        async with self._store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO pending_requests (booking_id, kind, reason, detail, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (booking.id, kind, reason, json.dumps(detail, default=str), utc_now()),
            )
            await db.audit(
                "scheduling",
                f"pending.{kind}",
                call_id,
                {"booking_id": booking.id, "reason": reason},
            )
        return int(cur.lastrowid or 0)

    # ---- reads -------------------------------------------------------------------------------

    async def get(self, booking_id: str) -> Booking:
        """One booking by id, or `BookingNotFound`."""
        row = await self._store.read_one(
            f"SELECT {_COLUMNS} FROM bookings WHERE id = ?", (booking_id,)
        )
        if row is None:
            raise BookingNotFound()
        return _row(row)

    async def busy(self, calendar_key: str, start: datetime, end: datetime) -> list[Interval]:
        """Active bookings overlapping [start, end)."""
        rows = await self._store.read_all(
            f"SELECT start_utc, end_utc FROM bookings WHERE calendar_key = ?"
            f" AND status IN {_ACTIVE_SQL} AND start_utc < ? AND end_utc > ?",
            (calendar_key, _iso(end), _iso(start)),
        )
        return [Interval(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in rows]

    async def upcoming(
        self, calendar_key: str, after: datetime, *, phone: str | None = None
    ) -> list[Booking]:
        """Confirmed or pending bookings starting after `after`, optionally for one phone."""
        sql = (
            f"SELECT {_COLUMNS} FROM bookings WHERE calendar_key = ?"
            " AND status IN ('confirmed', 'pending') AND start_utc > ?"
        )
        params: tuple[Any, ...] = (calendar_key, _iso(after))
        if phone is not None:
            sql += " AND phone = ?"
            params += (phone,)
        rows = await self._store.read_all(sql + " ORDER BY start_utc LIMIT 500", params)
        return [_row(r) for r in rows]
