"""Everything the receptionist remembers, in one SQLite database (aiosqlite).

Rules this module keeps:
- WAL mode, `synchronous=FULL`: an acknowledged write survives a crash or power loss.
- One writer connection behind a lock; every write is a short `BEGIN IMMEDIATE` transaction, and no
  network call ever happens while one is open.
- A turn is committed the moment it ends, so a call cut off at any point (including a server
  restart) keeps its record and every turn up to that point.
- Status moves forward only: a call that reached COMPLETED, FAILED or ABANDONED is never reopened.
- `audit_log` is append-only; triggers reject UPDATE and DELETE.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aiosqlite

SCHEMA_VERSION = 1

# aiosqlite annotates rows as sqlite3.Row; no row_factory is set here, so they are plain tuples.
Row = tuple[Any, ...]

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id            TEXT PRIMARY KEY,
    call_sid      TEXT UNIQUE,
    transport     TEXT NOT NULL CHECK (transport IN ('twilio', 'webrtc')),
    caller        TEXT,
    called        TEXT,
    profile       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('ACTIVE', 'COMPLETED', 'FAILED', 'ABANDONED')),
    started_at    TEXT NOT NULL,
    connected_at  TEXT,
    last_seen_at  REAL,
    ended_at      TEXT,
    end_reason    TEXT,
    malformed_frames INTEGER NOT NULL DEFAULT 0,
    flags         TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS calls_status ON calls (status, started_at);

CREATE TABLE IF NOT EXISTS turns (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT NOT NULL REFERENCES calls (id),
    seq         INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('caller', 'bot')),
    text        TEXT NOT NULL,
    interrupted INTEGER NOT NULL DEFAULT 0,
    at          TEXT NOT NULL,
    UNIQUE (call_id, seq)
);

CREATE TABLE IF NOT EXISTS tool_calls (
    id           INTEGER PRIMARY KEY,
    call_id      TEXT NOT NULL REFERENCES calls (id),
    tool_call_id TEXT,
    name         TEXT NOT NULL,
    arguments    TEXT NOT NULL,
    result       TEXT,
    ok           INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    duration_ms  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tool_calls_call ON tool_calls (call_id);

CREATE TABLE IF NOT EXISTS turn_latency (
    id            INTEGER PRIMARY KEY,
    call_id       TEXT NOT NULL REFERENCES calls (id),
    measured_from TEXT,
    total_ms      REAL NOT NULL,
    breakdown     TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turn_latency_call ON turn_latency (call_id);

CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT REFERENCES calls (id),
    caller_name TEXT,
    callback    TEXT,
    body        TEXT NOT NULL,
    urgency     TEXT NOT NULL DEFAULT 'normal',
    source      TEXT NOT NULL,
    recording_url TEXT,
    created_at  TEXT NOT NULL,
    handled_at  TEXT
);

CREATE TABLE IF NOT EXISTS outbox (
    id           INTEGER PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    to_number    TEXT NOT NULL,
    from_number  TEXT,
    body         TEXT NOT NULL,
    call_id      TEXT,
    status       TEXT NOT NULL CHECK (status IN
                   ('pending', 'sending', 'sent', 'failed', 'unconfigured')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    provider_sid TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    sent_at      TEXT
);

CREATE TABLE IF NOT EXISTS stream_tokens (
    call_sid   TEXT PRIMARY KEY,
    issued_at  REAL NOT NULL,
    used_at    REAL
);

CREATE TABLE IF NOT EXISTS app_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Owner PIN failures, for the lockout across calls (bot/owner_pin_guard.py); never the PIN.
CREATE TABLE IF NOT EXISTS owner_pin_failures (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    caller  TEXT NOT NULL,
    call_id TEXT
);
CREATE INDEX IF NOT EXISTS owner_pin_failures_caller ON owner_pin_failures (caller, at);
CREATE INDEX IF NOT EXISTS owner_pin_failures_at ON owner_pin_failures (at);

-- Uses per calling number, for the daily limits across calls (bot/caller_limits.py).
CREATE TABLE IF NOT EXISTS caller_usage (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    action  TEXT NOT NULL,
    caller  TEXT NOT NULL,
    target  TEXT,
    call_id TEXT
);
CREATE INDEX IF NOT EXISTS caller_usage_caller ON caller_usage (action, caller, at);
CREATE INDEX IF NOT EXISTS caller_usage_target ON caller_usage (action, target, at);

CREATE TABLE IF NOT EXISTS audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    call_id  TEXT,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""

# Columns added after a table first shipped: (table, column, type), added in place when missing.
ADDED_COLUMNS = (("outbox", "from_number", "TEXT"),)

TERMINAL = ("COMPLETED", "FAILED", "ABANDONED")


def utc_now() -> str:
    """Current UTC time as ISO 8601 with microseconds (sortable as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_call_id(prefix: str) -> str:
    """A fresh internal call id, e.g. `WR1f3a...` for a WebRTC call."""
    return prefix + uuid.uuid4().hex


@dataclass(frozen=True)
class CallRow:
    """The parts of a call record code needs to read back."""

    id: str
    call_sid: str | None
    transport: str
    caller: str | None
    called: str | None
    profile: str
    status: str
    end_reason: str | None


class Store:
    """Async access to the receptionist database. Create with `await Store.open(path)`."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (and create or migrate) the database at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await aiosqlite.connect(path, isolation_level=None)
        reader = await aiosqlite.connect(path, isolation_level=None)
        for conn in (writer, reader):
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA foreign_keys = ON")
        await writer.execute("PRAGMA journal_mode = WAL")
        await writer.execute("PRAGMA synchronous = FULL")
        await writer.execute("PRAGMA journal_size_limit = 67108864")
        store = cls(writer, reader)
        async with store._tx() as db:
            await db.executescript_in_tx(SCHEMA)
            for table, column, kind in ADDED_COLUMNS:
                present = {r[1] for r in await db.fetchall(f"PRAGMA table_info({table})")}
                if column not in present:
                    await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return store

    async def close(self) -> None:
        """Close both connections."""
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[Transaction]:
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A short write transaction (`BEGIN IMMEDIATE`) for modules that keep their own tables.

        Never await a network call inside it.
        """
        return self._tx()

    async def ensure_schema(self, script: str) -> None:
        """Create a module's own tables (idempotent `CREATE ... IF NOT EXISTS` statements)."""
        async with self._tx() as db:
            await db.executescript_in_tx(script)

    async def read_one(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        """One row from the read connection."""
        async with self._reader.execute(sql, params) as cur:
            return cast("Row | None", await cur.fetchone())

    async def read_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        """All rows from the read connection."""
        async with self._reader.execute(sql, params) as cur:
            return cast("list[Row]", list(await cur.fetchall()))

    # ---- secrets ---------------------------------------------------------------------------

    async def secret(self, name: str, make: Callable[[], str]) -> str:
        """A server secret shared by every worker process; created once with `make()`."""
        async with self._tx() as db:
            await db.execute(
                "INSERT OR IGNORE INTO app_secrets (name, value) VALUES (?, ?)", (name, make())
            )
            row = await db.fetchone("SELECT value FROM app_secrets WHERE name = ?", (name,))
        assert row is not None
        value: str = row[0]
        return value

    # ---- calls -----------------------------------------------------------------------------

    async def open_twilio_call(
        self, call_sid: str, caller: str | None, called: str | None, profile: str
    ) -> tuple[str, bool]:
        """Create the record for a Twilio call once per CallSid; return (call id, created)."""
        async with self._tx() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO calls (id, call_sid, transport, caller, called, profile,"
                " status, started_at) VALUES (?, ?, 'twilio', ?, ?, ?, 'ACTIVE', ?)",
                (call_sid, call_sid, caller, called, profile, utc_now()),
            )
            created = cur.rowcount == 1
            if created:
                await db.audit("twilio", "call.created", call_sid, {})
        return call_sid, created

    async def open_webrtc_call(self, caller: str | None, profile: str) -> str:
        """Create the record for a call from the browser test page."""
        call_id = new_call_id("WR")
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO calls (id, transport, caller, profile, status, started_at, connected_at,"
                " last_seen_at) VALUES (?, 'webrtc', ?, ?, 'ACTIVE', ?, ?, ?)",
                (call_id, caller, profile, utc_now(), utc_now(), time.time()),
            )
            await db.audit("webrtc", "call.created", call_id, {})
        return call_id

    async def mark_connected(self, call_id: str) -> None:
        """The media stream for this call is up."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE calls SET connected_at = COALESCE(connected_at, ?), last_seen_at = ?"
                " WHERE id = ?",
                (utc_now(), time.time(), call_id),
            )

    async def heartbeat(self, call_id: str) -> None:
        """A live call's pipeline is still running (lets other processes spot lost calls)."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE calls SET last_seen_at = ? WHERE id = ? AND status = 'ACTIVE'",
                (time.time(), call_id),
            )

    async def finish_call(self, call_id: str, status: str, reason: str) -> bool:
        """Close a call record; a call already closed keeps its first outcome."""
        if status not in TERMINAL:
            raise ValueError(f"not a terminal status: {status}")
        async with self._tx() as db:
            cur = await db.execute(
                "UPDATE calls SET status = ?, end_reason = ?, ended_at = ?"
                " WHERE id = ? AND status = 'ACTIVE'",
                (status, reason, utc_now(), call_id),
            )
            if cur.rowcount:
                await db.audit(
                    "system", "call.ended", call_id, {"status": status, "reason": reason}
                )
        return bool(cur.rowcount)

    async def add_malformed_frames(self, call_id: str, count: int) -> None:
        """Add to the count of Media Streams messages dropped as malformed."""
        if count:
            async with self._tx() as db:
                await db.execute(
                    "UPDATE calls SET malformed_frames = malformed_frames + ? WHERE id = ?",
                    (count, call_id),
                )

    async def add_call_flag(self, call_id: str, flag: str) -> None:
        """Attach a flag (e.g. 'emergency', 'claim_mismatch') to a call, once."""
        async with self._tx() as db:
            row = await db.fetchone("SELECT flags FROM calls WHERE id = ?", (call_id,))
            if row is None:
                return
            flags = json.loads(row[0])
            if flag not in flags:
                flags.append(flag)
                await db.execute(
                    "UPDATE calls SET flags = ? WHERE id = ?", (json.dumps(flags), call_id)
                )

    async def get_call(self, call_id: str) -> CallRow | None:
        """Read one call record."""
        row = await self.read_one(
            "SELECT id, call_sid, transport, caller, called, profile, status, end_reason"
            " FROM calls WHERE id = ?",
            (call_id,),
        )
        return CallRow(*row) if row else None

    async def sweep_stale_calls(self, *, silent_secs: float, never_connected_secs: float) -> int:
        """Close ACTIVE calls that no process is running any more (crash, restart, lost stream).

        A connected call whose pipeline has not sent a heartbeat for `silent_secs` is lost; a call
        whose stream never connected within `never_connected_secs` of the webhook failed.
        """
        now = time.time()
        cutoff = datetime.fromtimestamp(now - never_connected_secs, UTC).isoformat(
            timespec="microseconds"
        )
        async with self._tx() as db:
            rows = await db.fetchall(
                "SELECT id, connected_at FROM calls WHERE status = 'ACTIVE' AND ("
                " (connected_at IS NULL AND started_at < ?)"
                " OR (connected_at IS NOT NULL AND COALESCE(last_seen_at, 0) < ?))",
                (cutoff, now - silent_secs),
            )
            for call_id, connected_at in rows:
                reason = "stream_never_connected" if connected_at is None else "lost_on_restart"
                await db.execute(
                    "UPDATE calls SET status = 'FAILED', end_reason = ?, ended_at = ? WHERE id = ?",
                    (reason, utc_now(), call_id),
                )
                await db.audit("system", "call.swept", call_id, {"reason": reason})
        return len(rows)

    # ---- turns and tool calls ----------------------------------------------------------------

    async def add_turn(
        self, call_id: str, role: str, text: str, *, interrupted: bool = False
    ) -> int:
        """Append one turn (caller or bot) to a call; returns its sequence number."""
        async with self._tx() as db:
            row = await db.fetchone(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE call_id = ?", (call_id,)
            )
            seq = int(row[0]) if row else 1
            await db.execute(
                "INSERT INTO turns (call_id, seq, role, text, interrupted, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (call_id, seq, role, text, int(interrupted), utc_now()),
            )
        return seq

    async def add_tool_call(
        self,
        call_id: str,
        *,
        name: str,
        tool_call_id: str | None,
        arguments: Any,
        result: Any,
        ok: bool,
        started_at: str,
        duration_ms: float,
    ) -> None:
        """Record one tool call with its arguments, result and duration."""
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO tool_calls (call_id, tool_call_id, name, arguments, result, ok,"
                " started_at, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call_id,
                    tool_call_id,
                    name,
                    json.dumps(arguments, default=str),
                    json.dumps(result, default=str),
                    int(ok),
                    started_at,
                    duration_ms,
                ),
            )

    async def add_turn_latency(self, call_id: str, summary: dict[str, Any]) -> None:
        """Store one reply's latency waterfall (see `pipelines.latency`)."""
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO turn_latency (call_id, measured_from, total_ms, breakdown, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    call_id,
                    summary.get("measured_from"),
                    float(summary.get("total_ms") or 0.0),
                    json.dumps(summary),
                    utc_now(),
                ),
            )

    async def add_message(
        self,
        *,
        call_id: str | None,
        body: str,
        source: str,
        caller_name: str | None = None,
        callback: str | None = None,
        urgency: str = "normal",
        recording_url: str | None = None,
    ) -> int:
        """Store a message for the business (from the bot, or a voicemail recording)."""
        async with self._tx() as db:
            cur = await db.execute(
                "INSERT INTO messages (call_id, caller_name, callback, body, urgency, source,"
                " recording_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (call_id, caller_name, callback, body, urgency, source, recording_url, utc_now()),
            )
            await db.audit(source, "message.stored", call_id, {"message_id": cur.lastrowid})
        return int(cur.lastrowid or 0)

    # ---- stream tokens -----------------------------------------------------------------------

    async def issue_stream_token(self, call_sid: str) -> None:
        """Note that a stream token was handed out for this call (idempotent)."""
        async with self._tx() as db:
            await db.execute(
                "INSERT OR IGNORE INTO stream_tokens (call_sid, issued_at) VALUES (?, ?)",
                (call_sid, time.time()),
            )

    async def consume_stream_token(self, call_sid: str, ttl_secs: float) -> bool:
        """Mark the call's token used; False if unknown, already used, or expired."""
        now = time.time()
        async with self._tx() as db:
            cur = await db.execute(
                "UPDATE stream_tokens SET used_at = ? WHERE call_sid = ? AND used_at IS NULL"
                " AND issued_at >= ?",
                (now, call_sid, now - ttl_secs),
            )
        return cur.rowcount == 1

    # ---- audit -------------------------------------------------------------------------------

    async def audit(
        self, actor: str, action: str, call_id: str | None, detail: dict[str, Any]
    ) -> None:
        """Append a row to the audit log."""
        async with self._tx() as db:
            await db.audit(actor, action, call_id, detail)


class Transaction:
    """Statements inside one open write transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> aiosqlite.Cursor:
        """Run one statement on the writer connection."""
        return await self._conn.execute(sql, params)

    async def executescript_in_tx(self, script: str) -> None:
        """Run a multi-statement script statement by statement, inside this transaction."""
        for statement in _split_sql(script):
            await self._conn.execute(statement)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        """One row read inside this transaction (sees its uncommitted writes)."""
        async with self._conn.execute(sql, params) as cur:
            return cast("Row | None", await cur.fetchone())

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        """All rows read inside this transaction (sees its uncommitted writes)."""
        async with self._conn.execute(sql, params) as cur:
            return cast("list[Row]", list(await cur.fetchall()))

    async def audit(
        self, actor: str, action: str, call_id: str | None, detail: dict[str, Any]
    ) -> None:
        """Append a row to the audit log inside this transaction."""
        await self._conn.execute(
            "INSERT INTO audit_log (at, call_id, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            (utc_now(), call_id, actor, action, json.dumps(detail, default=str)),
        )


def _split_sql(script: str) -> list[str]:
    """Split a schema script into statements, keeping trigger bodies whole."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        joined = "\n".join(current).strip()
        in_trigger = joined.upper().startswith("CREATE TRIGGER") and not joined.upper().endswith(
            "END;"
        )
        if joined.endswith(";") and not in_trigger:
            statements.append(joined)
            current = []
    if "".join(current).strip():
        statements.append("\n".join(current))
    return statements
