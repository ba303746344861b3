"""The post-call claims audit: spoken 'booked/cancelled/moved' must match successful tool calls."""

from __future__ import annotations

import json

import pytest

from bot import claims_audit
from bot.claims_audit import audit_claims, claims_in
from bot.storage import Store, utc_now

CALL = "CA" + "5" * 32


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("You're booked for a plumbing repair on Tuesday the 8th at 1 PM.", {"booked"}),
        ("All set, you're scheduled for Monday.", {"booked"}),
        ("Your appointment is confirmed for Friday at 9.", {"booked"}),
        ("Done. Your appointment is moved to Wednesday the 9th at 9 AM.", {"moved"}),
        ("I've rescheduled you to Thursday.", {"moved"}),
        ("Your appointment on Tuesday is cancelled.", {"cancelled"}),
        ("Okay, I've canceled it, and you're booked for Friday instead.", {"cancelled", "booked"}),
        ("Would you like me to book that?", set()),
        ("Shall I check if you're booked?", set()),
        ("I couldn't book that time, sorry.", set()),
        ("That slot isn't booked yet.", set()),
        ("Once it's booked you'll get a text.", set()),
        ("I couldn't reach the calendar, so I've passed your request to the office.", set()),
        ("I can book, move or cancel an appointment.", set()),
        ("The office will confirm once it's scheduled.", set()),
    ],
)
def test_what_counts_as_a_claim(text, kinds):
    assert claims_in(text) == kinds


@pytest.fixture
async def store(tmp_path):
    db = await Store.open(tmp_path / "db.sqlite3")
    await db.open_twilio_call(CALL, "+18605550199", "+18605550100", "bristol_plumbing")
    yield db
    await db.close()


async def tool(store: Store, name: str, result: dict, ok: bool = True) -> None:
    await store.add_tool_call(
        CALL,
        name=name,
        tool_call_id="call_1",
        arguments={},
        result=result,
        ok=ok,
        started_at=utc_now(),
        duration_ms=5.0,
    )


async def flags(store: Store) -> list[str]:
    row = await store.read_one("SELECT flags FROM calls WHERE id = ?", (CALL,))
    return json.loads(row[0])


async def test_claims_backed_by_tool_results_are_fine(store):
    await tool(store, "book_appointment", {"ok": True, "status": "booked"})
    await store.add_turn(CALL, "bot", "You're booked for Tuesday the 8th at 1 PM.")
    report = await audit_claims(store, CALL)
    assert [c.kind for c in report.claims] == ["booked"] and report.mismatches == []
    assert await flags(store) == []
    audit = await store.read_all("SELECT action FROM audit_log WHERE actor = 'claims_audit'")
    assert audit == [("claims.verified",)]


async def test_a_claim_without_a_successful_tool_call_is_flagged(store):
    await store.add_turn(CALL, "bot", "Great, you're booked for Tuesday.")  # nothing called
    await tool(store, "book_appointment", {"ok": True, "status": "pending"})  # not a booking
    await tool(store, "cancel_appointment", {"ok": False, "error": "not verified"}, ok=False)
    await store.add_turn(CALL, "bot", "And your old appointment is cancelled.")
    await tool(store, "reschedule_appointment", {"ok": True, "status": "moved"})
    await store.add_turn(CALL, "bot", "Your appointment is moved to Friday.")  # this one is true
    report = await audit_claims(store, CALL)
    assert sorted((c.kind, c.turn_seq) for c in report.mismatches) == [
        ("booked", 1),
        ("cancelled", 2),
    ]
    assert await flags(store) == ["claim_mismatch"]
    [(detail,)] = await store.read_all(
        "SELECT detail FROM audit_log WHERE action = 'claims.mismatch' AND call_id = ?", (CALL,)
    )
    assert json.loads(detail)["mismatches"] == [
        {"kind": "booked", "turn": 1},
        {"kind": "cancelled", "turn": 2},
    ]


async def test_a_claim_before_the_tool_ran_is_flagged(store):
    await store.add_turn(CALL, "bot", "You're booked!")
    await tool(store, "book_appointment", {"ok": True, "status": "booked"})
    assert [c.kind for c in (await audit_claims(store, CALL)).mismatches] == ["booked"]


async def test_run_safely_never_raises(store):
    await store.close()  # a broken database must not stop the call record from closing
    await claims_audit.run_safely(store, CALL)
