"""Many writers on one database at once lose nothing (reliability §7 #19).

A server with two worker processes takes live calls and a stream of webhooks while three more
processes write to the same database through `bot.storage.Store` as fast as they can (turns, tool
calls and heartbeats from 15 concurrent tasks each). Every write lands, no `database is locked`
reaches a caller or a webhook, the live calls keep every turn, and the database stays intact.
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tests import audio
from tests.fakes.openai import ScriptedLLM, Text
from tests.server_proc import ROOT
from tests.test_call_path import answered_call, new_caller, turns

pytestmark = pytest.mark.e2e

HAMMERS, TASKS, ROUNDS = 3, 15, 25
REPLY = "Okay, and what is the address?"


async def _hammer(db_path) -> dict:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.sqlite_hammer",
        str(db_path),
        "--tasks",
        str(TASKS),
        "--rounds",
        str(ROUNDS),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out)


async def test_concurrent_writers_lose_nothing_and_never_see_a_lock(fakes, server_factory):
    server = server_factory(workers=2, test_page_enabled="false", max_calls=1000)
    fakes.openai.responder = ScriptedLLM([], default=Text(REPLY))
    callers = [await answered_call(fakes, server, [audio.FIXTURES["my_name"]]) for _ in range(2)]

    async def webhooks() -> list[str]:
        sids = []
        for _ in range(40):
            caller = new_caller(fakes, server)
            assert (await caller.dial()).status_code == 200
            sids.append(caller.call_sid)
        return sids

    async def talk(caller) -> None:
        said = await caller.say(audio.load("my_name"))
        await caller.wait_for_bot_audio(said["t_last_voiced_frame"], timeout=30, voiced_only=True)
        await caller.wait_for_bot_silence(quiet_s=0.6, timeout=30, voiced_only=True)

    results = await asyncio.gather(
        *(_hammer(server.db_path) for _ in range(HAMMERS)),
        webhooks(),
        webhooks(),
        *(talk(c) for c in callers),
    )
    hammered, dialled = results[:HAMMERS], results[HAMMERS] + results[HAMMERS + 1]

    writes = sum(h["writes"] for h in hammered)
    print(
        f"\n{writes} writes from {HAMMERS} processes x {TASKS} tasks beside 2 workers: "
        f"p50 {max(h['p50_ms'] for h in hammered)} ms, p99 {max(h['p99_ms'] for h in hammered)} ms, "
        f"max {max(h['max_ms'] for h in hammered)} ms"
    )
    assert [h["errors"] for h in hammered] == [[]] * HAMMERS
    for h in hammered:
        assert len(h["call_ids"]) == TASKS
        for call_id in h["call_ids"]:
            assert len(turns(server, call_id)) == ROUNDS
            n = server.rows("SELECT COUNT(*) AS n FROM tool_calls WHERE call_id = ?", (call_id,))
            assert n[0]["n"] == ROUNDS
    for sid in dialled:
        assert server.rows("SELECT status FROM calls WHERE call_sid = ?", (sid,))[0][0] == "ACTIVE"
    for caller in callers:
        assert not caller.closed
        assert ("bot", REPLY, 0) in turns(server, caller.call_sid)
        await caller.hangup()
    assert "database is locked" not in server.log()
    assert server.rows("PRAGMA integrity_check")[0][0] == "ok"
