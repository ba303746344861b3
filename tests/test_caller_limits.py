"""Across calls: proof before a change, per-number daily limits, and which numbers get texts.

The tools run against a real SQLite store (as in test_scheduling_booking); each call is its own
session, as each phone call is.
"""

from __future__ import annotations

import re

from bot.config import Settings
from bot.outbox import Outbox
from tests.scheduling_support import new_session, open_store
from tests.test_scheduling_booking import BRISTOL, CALLER, DETAILS, NOW
from tools import book_appointment, cancel_appointment, check_availability, find_my_appointments

VICTIM = {**DETAILS, "callback_number": CALLER}


async def call(store, n: int, caller: str | None = CALLER, **limits):
    session = await new_session(
        store, BRISTOL, now=NOW, caller=caller, outbox=Outbox(store, None), call_sid=f"CA{n:032d}"
    )
    session.settings = Settings(_env_file=None, **limits)
    return session


async def book(session, when: str = "tomorrow", details=VICTIM, pick: int = 0) -> dict:
    offered = await check_availability.TOOL.run(session, {"when": when})
    return await book_appointment.TOOL.run(
        session, {"slot_id": offered["options"][pick]["slot_id"], **details}
    )


async def outbox_rows(store) -> list[tuple]:
    return await store.read_all("SELECT kind, to_number FROM outbox ORDER BY id")


async def test_spoofed_number_and_name_are_not_enough_but_code_or_street_are(tmp_path):
    store = await open_store(tmp_path)
    booked = await book(await call(store, 1))
    code = booked["reference"]
    [(body,)] = await store.read_all("SELECT body FROM outbox")
    assert f"Booking code {code}." in body

    # Someone who knows the number (spoofed) and the name: nothing found, nothing cancelled.
    spoofer = await call(store, 2)
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    for arguments in (
        {"customer_name": "John Smith"},
        {"customer_name": "John Smith", "booking_code": wrong_code},
        {"customer_name": "John Smith", "street_or_postcode": "14 Elm Street"},
    ):
        refused = await find_my_appointments.TOOL.run(spoofer, arguments)
        assert refused["ok"] is False and refused["reason"] == "need_more_proof", refused
        assert "Oak" not in str(refused) and code not in str(refused)
    cancel = await cancel_appointment.TOOL.run(spoofer, {"booking_ref": booked["booking_ref"]})
    assert cancel["reason"] == "not_verified"
    # A code from the text, read out, or the street: found (the right name is still needed).
    for n, arguments in enumerate(
        (
            {"customer_name": "John Smith", "booking_code": " ".join(code)},
            {"customer_name": "John Smith", "street_or_postcode": "12 Oak St"},
            {"customer_name": "John Smith", "street_or_postcode": "CT 06010"},
        ),
        start=3,
    ):
        found = await find_my_appointments.TOOL.run(await call(store, n), arguments)
        assert [a["booking_ref"] for a in found["appointments"]] == [booked["booking_ref"]]
    other_name = await find_my_appointments.TOOL.run(
        await call(store, 9), {"customer_name": "Jane Doe", "booking_code": code}
    )
    assert other_name["reason"] == "need_more_proof"
    # The code alone does not work from another number either (it needs date and street then).
    elsewhere = await call(store, 10, caller="+12125550123")
    away = await find_my_appointments.TOOL.run(
        elsewhere, {"customer_name": "John Smith", "booking_code": code}
    )
    assert away["reason"] == "need_more_proof"
    assert await store.read_all("SELECT status FROM bookings") == [("confirmed",)]
    await store.close()


async def test_bookings_and_changes_are_capped_per_number_across_calls(tmp_path):
    store = await open_store(tmp_path)
    first = await book(await call(store, 1, caller_changes_per_day=2))
    second = await book(await call(store, 2, caller_changes_per_day=2), pick=1)
    third = await book(await call(store, 3, caller_changes_per_day=2), pick=2)
    assert first["status"] == second["status"] == "booked"
    assert third["ok"] is False and third["reason"] == "daily_limit"
    assert "Offer to take a message" in third["error"]
    # Cancelling is a change too.
    proved = await call(store, 4, caller_changes_per_day=2)
    await find_my_appointments.TOOL.run(
        proved, {"customer_name": "John Smith", "booking_code": first["reference"]}
    )
    cancel = await cancel_appointment.TOOL.run(proved, {"booking_ref": first["booking_ref"]})
    assert cancel["reason"] == "daily_limit"
    # Another number is not affected.
    other = await book(
        await call(store, 5, caller="+12125550123", caller_changes_per_day=2), pick=2
    )
    assert other["status"] == "booked"
    statuses = await store.read_all("SELECT status, COUNT(*) FROM bookings GROUP BY status")
    assert statuses == [("confirmed", 3)]
    await store.close()


async def test_texts_are_capped_per_caller_and_per_destination(tmp_path):
    store = await open_store(tmp_path)
    limits = {"caller_texts_per_day": 1}
    texted = await book(await call(store, 1, **limits))
    untexted = await book(await call(store, 2, **limits), pick=1)
    assert texted["text_sent"] is True and untexted["text_sent"] is False
    assert untexted["status"] == "booked"  # the booking stands
    assert "can't send any more texts to that number today" in untexted["say"]
    assert re.search(r"booking code: \d \d \d, \d \d \d\.$", untexted["say"])
    # A different caller ID cannot text the same phone again today either.
    rotated = await book(await call(store, 3, caller="+12125550123", **limits), pick=2)
    assert rotated["status"] == "booked" and rotated["text_sent"] is False
    assert await outbox_rows(store) == [("booking_confirmation", CALLER)]
    await store.close()


async def test_lookups_are_capped_per_number_across_calls(tmp_path):
    store = await open_store(tmp_path)
    guesses = [
        await find_my_appointments.TOOL.run(
            await call(store, n, caller_lookups_per_day=3),
            {"customer_name": "John Smith", "booking_code": f"{n:06d}"},
        )
        for n in range(1, 5)
    ]
    assert [g["reason"] for g in guesses] == ["need_more_proof"] * 3 + ["daily_limit"]
    await store.close()


async def test_no_text_to_premium_satellite_or_foreign_numbers_but_the_booking_stands(tmp_path):
    store = await open_store(tmp_path)
    session = await call(store, 1)
    results = [
        await book(session, details={**DETAILS, "callback_number": number}, pick=i)
        for i, number in enumerate(("+881612345678", "+1 900 555 1234", "+33 6 12 34 56 78"))
    ]
    for result in results:
        assert result["status"] == "booked" and result["text_sent"] is False
        assert "I can't send a text to that number" in result["say"]
        assert "confirmation text is on its way" not in result["say"]
    assert await outbox_rows(store) == []
    rows = await store.read_all("SELECT phone, status FROM bookings ORDER BY start_utc")
    assert rows == [
        ("+881612345678", "confirmed"),
        ("+19005551234", "confirmed"),
        ("+33612345678", "confirmed"),
    ]
    await store.close()
