"""A backup you can restore (reliability §7 #21).

The backup command snapshots the database of a running server in the middle of a call, while
webhooks keep writing; the snapshot is restored into a fresh data directory, a new server starts
on it and finds the call and its turns, and takes new calls.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.backup import BackupError, restore
from tests import audio
from tests.fakes.openai import ScriptedLLM, Text
from tests.server_proc import ROOT, start_server
from tests.test_call_path import answered_call, new_caller, turns

REPLY = "Okay, and what is the address?"


def _run_backup_command(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.backup", *args],
        cwd=data_dir.parent,  # no developer .env is read
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.e2e
async def test_backup_of_a_live_call_restores_on_a_fresh_server(fakes, server_factory, tmp_path):
    server = server_factory(test_page_enabled="false")
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    caller = await answered_call(fakes, server, [audio.FIXTURES["my_name"]])
    said = await caller.say(audio.load("my_name"))
    await caller.wait_for_bot_audio(said["t_last_voiced_frame"], timeout=15, voiced_only=True)
    await caller.wait_for_bot_silence(quiet_s=0.6, timeout=15, voiced_only=True)
    live_turns = turns(server, caller.call_sid)
    assert ("bot", REPLY, 0) in live_turns

    # Back up while the call is live and new calls keep writing to the database.
    stop_writing = asyncio.Event()

    async def keep_dialling() -> int:
        dialled = 0
        while not stop_writing.is_set():
            assert (await new_caller(fakes, server).dial()).status_code == 200
            dialled += 1
        return dialled

    writer = asyncio.create_task(keep_dialling())
    await asyncio.sleep(0.3)
    snapshot = tmp_path / "backups" / "receptionist-backup.sqlite3"
    started = time.monotonic()
    done = await asyncio.to_thread(_run_backup_command, server.data_dir, "backup", str(snapshot))
    took = time.monotonic() - started
    stop_writing.set()
    dialled = await writer
    assert done.returncode == 0, done.stderr
    print(
        f"\nbackup of a live database: {took:.2f} s (command) while {dialled} webhooks wrote; "
        f"{done.stdout.strip()}"
    )
    assert not caller.closed, "the backup disturbed the live call"
    assert "database is locked" not in server.log()

    # Restore into a fresh data directory and start a server on it.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    put = _run_backup_command(fresh / "data", "restore", str(snapshot))
    assert put.returncode == 0, put.stderr
    print(put.stdout.strip())
    again = _run_backup_command(fresh / "data", "restore", str(snapshot))
    assert again.returncode == 1 and "already exists" in again.stderr
    restored = start_server(fresh, fakes.env() | {"TEST_PAGE_ENABLED": "false"})
    try:
        assert turns(restored, caller.call_sid) == live_turns
        backed_up = restored.rows("SELECT COUNT(*) AS n FROM calls")[0]["n"]
        assert backed_up >= 2 + 1  # this call, at least one dialled before the snapshot
        assert restored.rows("PRAGMA integrity_check")[0][0] == "ok"
        # The restored server takes calls (its stream secret came with the database).
        newcomer = new_caller(fakes, restored)
        assert "<Stream" in (await newcomer.dial()).text
        await newcomer.connect()
        await newcomer.wait_for_bot_audio(after_t=0, timeout=20)
        await newcomer.hangup()
    finally:
        restored.stop()
    await caller.hangup()


def test_restore_refuses_what_is_not_a_good_database(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="not a receptionist database"):
        restore(junk, tmp_path / "data" / "receptionist.sqlite3")
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(BackupError, match="not a receptionist database"):
        restore(other, tmp_path / "data" / "receptionist.sqlite3")
    assert not (tmp_path / "data" / "receptionist.sqlite3").exists()
