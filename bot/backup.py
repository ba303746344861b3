"""Back up the receptionist's database while the server runs, and restore it on a fresh machine.

    uv run python -m bot.backup backup <file>             # safe while calls are live
    uv run python -m bot.backup restore <file> [--force]  # into DATA_DIR; stop the server first

Invariants:
- A backup is one consistent snapshot, taken with SQLite's online backup API in a single step:
  in WAL mode that is one read transaction, so the server's writers carry on meanwhile and never
  see `database is locked`.
- A file only gets its final name once it is complete and passes `PRAGMA integrity_check`
  (written beside it, then renamed), so a backup or a restore cut off halfway leaves nothing
  that looks finished.
- Restore never overwrites a database unless told to (`--force`), never restores a file that
  fails the integrity check, and removes the old database's `-wal`/`-shm` files, which belong to
  the old database and would corrupt the restored one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings


class BackupError(Exception):
    """A backup or restore that was refused or failed; the message says why."""


@dataclass(frozen=True)
class Snapshot:
    """What a backup or restore wrote."""

    path: Path
    calls: int
    turns: int
    bytes: int
    seconds: float


def _copy(source: sqlite3.Connection, target_path: Path) -> None:
    """Copy `source` into a new file at `target_path` (written beside it, then renamed)."""
    partial = target_path.with_name(target_path.name + ".partial")
    partial.unlink(missing_ok=True)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)  # pages=-1: the whole database in one step, one snapshot
        ok = target.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"the copy failed its integrity check: {ok}")
        target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        target.close()
    os.replace(partial, target_path)


def _counts(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        calls = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        turns = conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
        return int(calls), int(turns)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a receptionist database ({exc})") from None
    finally:
        conn.close()


def backup(database: Path, destination: Path) -> Snapshot:
    """Snapshot the live database at `database` into the file `destination`."""
    if not database.exists():
        raise BackupError(f"no database at {database}")
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        _copy(source, destination)
    finally:
        source.close()
    calls, turns = _counts(destination)
    return Snapshot(
        destination, calls, turns, destination.stat().st_size, time.monotonic() - started
    )


def restore(backup_file: Path, database: Path, *, force: bool = False) -> Snapshot:
    """Put the backup at `backup_file` in place as the database at `database`."""
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    if database.exists() and not force:
        raise BackupError(
            f"a database already exists at {database}; stop the server and pass --force to "
            "replace it"
        )
    started = time.monotonic()
    _counts(backup_file)  # refuses a file that is not one of our databases
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        ok = source.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"{backup_file} failed its integrity check: {ok}")
        database.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{database}{suffix}").unlink()
        _copy(source, database)
    finally:
        source.close()
    calls, turns = _counts(database)
    return Snapshot(database, calls, turns, database.stat().st_size, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    """Command line: `backup <file>` or `restore <file> [--force]`, on DATA_DIR's database."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.backup", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("backup", help="snapshot the live database into a new file")
    take.add_argument("file", type=Path)
    put = commands.add_parser("restore", help="restore a backup as DATA_DIR's database")
    put.add_argument("file", type=Path)
    put.add_argument("--force", action="store_true", help="replace an existing database")
    args = parser.parse_args(argv)
    database = Settings().database_path
    try:
        if args.command == "backup":
            done = backup(database, args.file)
        else:
            done = restore(args.file, database, force=args.force)
    except BackupError as exc:
        sys.stderr.write(f"{args.command} failed: {exc}\n")
        return 1
    sys.stdout.write(
        f"{args.command}: {done.path} ({done.calls} calls, {done.turns} turns, "
        f"{done.bytes} bytes) in {done.seconds:.2f} s\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
