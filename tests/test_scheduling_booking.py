"""Availability rules, the SQLite ledger and built-in calendar, identity, and booking flows."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.outbox import Outbox
from bot.scheduling.availability import Interval, find_options, free_starts
from bot.scheduling.backends import builtin_key
from bot.scheduling.calendar import SqliteCalendar
from bot.scheduling.errors import SlotTaken
from bot.scheduling.identity import address_matches, name_matches, postcode_of
from bot.scheduling.ledger import Booking, Ledger, new_booking_id
from bot.scheduling.when import parse_when
from tests.scheduling_support import DENTAL, new_session, open_store, profile
from tools import (
    book_appointment,
    cancel_appointment,
    check_availability,
    find_my_appointments,
    reschedule_appointment,
)

BRISTOL = profile()
TZ = BRISTOL.tz
# Monday 7 December 2026, 10:00 in Bristol, Connecticut (EST, UTC-5).
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
CALLER = "+18605550199"
DETAILS = {
    "customer_name": "John Smith",
    "callback_number": "(860) 555-0199",
    "service_address": "12 Oak Street, Bristol, CT 06010",
    "problem_summary": "Kitchen sink leaking under the cabinet",
}


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm)).replace(tzinfo=TZ).astimezone(UTC)


def starts_on(day: date, service_id: str = "repair", busy=(), business=BRISTOL, now=NOW):
    service = business.service(service_id)
    found = free_starts(business, service, list(busy), now, day, day)
    return [s.astimezone(business.tz).strftime("%H:%M") for s in found]


# ---- availability rules --------------------------------------------------------------------------


def test_service_duration_and_opening_hours():
    tue, fri, sat = date(2026, 12, 8), date(2026, 12, 11), date(2026, 12, 12)
    assert starts_on(tue)[0] == "07:30" and starts_on(tue)[-1] == "16:30"  # 1 h, closes 17:30
    assert starts_on(tue, "tankless_install")[-1] == "13:30"  # 4 h
    assert starts_on(fri, "tankless_install")[-1] == "12:00"  # Friday closes at 16:00
    assert starts_on(sat, "tankless_install") == ["09:00"]  # Saturday 09:00-13:00
    assert starts_on(date(2026, 12, 13)) == []  # Sunday: closed


def test_minimum_notice_blackouts_and_horizon():
    assert starts_on(date(2026, 12, 7))[0] == "12:00"  # now 10:00 + 120 min notice
    assert starts_on(date(2026, 12, 25)) == []  # blackout (a Friday)
    assert starts_on(date(2027, 1, 6)) == starts_on(date(2026, 12, 9))  # day 30: still offered
    assert starts_on(date(2027, 1, 7)) == []  # day 31: too far ahead


def test_buffer_keeps_jobs_apart():
    tue = date(2026, 12, 8)
    busy = [Interval(local(tue, 10), local(tue, 11))]  # 30-minute buffer either side
    offered = starts_on(tue, busy=busy)
    assert "08:30" in offered and "09:00" not in offered and "09:30" not in offered
    assert "10:00" not in offered and "11:00" not in offered and "11:30" in offered


def test_options_are_few_spread_and_speakable():
    got = find_options(
        BRISTOL, BRISTOL.service("repair"), parse_when("tomorrow afternoon", NOW, TZ), [], NOW
    )
    assert got.exact and len(got.slots) == 3
    assert [s.spoken for s in got.slots] == [
        "Tuesday the 8th at 12 PM",
        "Tuesday the 8th at 1 PM",
        "Tuesday the 8th at 2 PM",
    ]
    assert len({s.id for s in got.slots}) == 3 and all(s.id.startswith("slot-") for s in got.slots)


def test_around_a_time_prefers_the_closest():
    got = find_options(
        BRISTOL, BRISTOL.service("repair"), parse_when("Wednesday at 2", NOW, TZ), [], NOW
    )
    assert [s.spoken.split(" at ")[1] for s in got.slots] == ["2 PM", "1 PM", "3 PM"]


def test_nothing_fits_gives_the_nearest_alternatives():
    tue = date(2026, 12, 8)
    busy = [Interval(local(tue, 12), local(tue, 17, 30))]  # tomorrow afternoon is full
    got = find_options(
        BRISTOL, BRISTOL.service("repair"), parse_when("tomorrow afternoon", NOW, TZ), busy, NOW
    )
    assert not got.exact
    # The same day at another time, and the same time of day on the nearest other day.
    assert [s.spoken for s in got.slots] == [
        "Monday the 7th at 12 PM",
        "Tuesday the 8th at 9:30 AM",
        "Tuesday the 8th at 10:30 AM",
    ]
    sunday = find_options(
        BRISTOL, BRISTOL.service("repair"), parse_when("Sunday", NOW, TZ), [], NOW
    )
    assert not sunday.exact and {s.spoken.split(" the ")[0] for s in sunday.slots} <= {
        "Saturday",
        "Monday",
    }


# ---- identity ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "booked", "ok"),
    [
        ("john smith", "John Smith", True),
        ("John A. Smith", "John Smith", True),
        ("Jon Smith", "John Smith", False),
        ("Smith", "John Smith", False),
        ("José Núñez", "Jose Nunez", True),
    ],
)
def test_names(given, booked, ok):
    assert name_matches(given, booked) is ok


def test_streets_and_postcodes():
    address = "12 Oak Street, Bristol, CT 06010"
    assert address_matches("12 oak st", address) and address_matches("06010", address)
    assert not address_matches("14 Oak Street", address) and not address_matches("06011", address)
    assert postcode_of("14 Riverside Walk, London se1 9pp") == "SE19PP"
    assert address_matches("SE1 9PP", "3 Hay Lane, London SE1 9PP")


# ---- the ledger and the built-in calendar --------------------------------------------------------


def booking(start: datetime, minutes: int = 60, **kw) -> Booking:
    fields = dict(
        service_id="repair",
        status="new",
        customer_name="John Smith",
        phone=CALLER,
        address=DETAILS["service_address"],
        summary="leak",
        emergency=False,
        call_id=None,
    )
    return Booking(
        new_booking_id(), start=start, end=start + timedelta(minutes=minutes), **{**fields, **kw}
    )


async def test_builtin_calendar_claims_cells_under_a_unique_constraint(tmp_path):
    store = await open_store(tmp_path)
    ledger = Ledger(store)
    await ledger.setup()
    calendar = SqliteCalendar(ledger, BRISTOL, builtin_key("bristol_plumbing"))
    tue = date(2026, 12, 8)
    first = await calendar.book(booking(local(tue, 10)))
    assert first.booking.status == "confirmed" and not first.pending
    for clash in (local(tue, 10), local(tue, 9, 30), local(tue, 11)):  # same, overlap, in buffer
        with pytest.raises(SlotTaken):
            await calendar.book(booking(clash))
    assert (await calendar.book(booking(local(tue, 11, 30)))).booking.status == "confirmed"
    # The database itself refuses an overlapping claim, whatever the code above it does.
    cells = await store.read_all(
        "SELECT cell FROM slot_claims WHERE booking_id = ?", (first.booking.id,)
    )
    assert len(cells) == (60 + 30) // 5
    raw = sqlite3.connect(tmp_path / "receptionist.sqlite3")
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute(
            "INSERT INTO slot_claims VALUES (?, ?, 'x')", ("builtin:bristol_plumbing", cells[3][0])
        )
    raw.close()
    # Cancelling frees the time; moving holds the new time and frees the old.
    await calendar.cancel(first.booking)
    again = await calendar.book(booking(local(tue, 10)))
    moved = await calendar.move(again.booking, local(tue, 14), local(tue, 15))
    assert moved.booking.start == local(tue, 14)
    assert (await calendar.book(booking(local(tue, 10)))).booking.status == "confirmed"
    with pytest.raises(SlotTaken):
        await calendar.book(booking(local(tue, 14, 30)))
    await store.close()


# ---- concurrency: exactly one winner, the rest get fresh options ---------------------------------


async def race_for_one_slot(make_sessions, rounds: int, callers: int = 12) -> None:
    """Callers are all offered the same slot, then all book it at once; repeated `rounds` times."""
    when = "tomorrow morning"
    for round_no in range(rounds):
        sessions = [await make_sessions(round_no, i) for i in range(callers)]
        slot_ids = set()
        for session in sessions:
            offered = await check_availability.TOOL.run(session, {"when": when})
            assert offered["ok"], offered
            slot_ids.add(offered["options"][0]["slot_id"])
        assert len(slot_ids) == 1, "every caller was offered the same first slot"
        slot_id = slot_ids.pop()
        results = await asyncio.gather(
            *(book_appointment.TOOL.run(s, {"slot_id": slot_id, **DETAILS}) for s in sessions)
        )
        winners = [r for r in results if r.get("status") == "booked"]
        losers = [r for r in results if r.get("reason") == "slot_taken"]
        assert len(winners) == 1, f"round {round_no}: {results}"
        assert len(losers) == len(sessions) - 1
        for lost in losers:
            assert lost["ok"] is False and "just taken" in lost["say"]
            assert lost["options"] and slot_id not in {o["slot_id"] for o in lost["options"]}


async def test_concurrent_bookings_builtin_calendar(tmp_path):
    store = await open_store(tmp_path)

    async def make(round_no: int, i: int):
        # Different people: one number's own daily limit on bookings is not what this tests.
        return await new_session(
            store,
            BRISTOL,
            now=NOW,
            caller=f"+1860555{round_no * 100 + i:04d}",
            call_sid=f"CA{round_no:016d}{i:016d}",
        )

    await race_for_one_slot(make, rounds=5)
    rows = await store.read_all("SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'")
    assert rows == [(5,)]
    await store.close()


# ---- booking, finding, moving, cancelling through the tools --------------------------------------


async def test_book_find_reschedule_cancel_with_texts(tmp_path):
    store = await open_store(tmp_path)
    outbox = Outbox(store, None)  # Twilio not configured: texts wait in the outbox
    session = await new_session(store, BRISTOL, now=NOW, outbox=outbox)
    offered = await check_availability.TOOL.run(session, {"when": "tomorrow afternoon"})
    assert offered["say"].startswith("For tomorrow, Tuesday the 8th, in the afternoon, I have")
    booked = await book_appointment.TOOL.run(
        session, {"slot_id": offered["options"][1]["slot_id"], **DETAILS}
    )
    assert booked["status"] == "booked" and booked["say"].startswith(
        "You're booked for a plumbing repair on Tuesday the 8th at 1 PM."
    )
    # Asking again with the same slot (an interrupted reply) does not book twice.
    again = await book_appointment.TOOL.run(
        session, {"slot_id": offered["options"][1]["slot_id"], **DETAILS}
    )
    assert again["status"] == "already_booked"
    assert await store.read_all("SELECT COUNT(*) FROM bookings") == [(1,)]
    texts = await store.read_all("SELECT dedupe_key, to_number, body, status FROM outbox")
    assert len(texts) == 1
    key, to, body, status = texts[0]
    assert key == f"booking:{booked['booking_ref']}:confirmation" and to == CALLER
    assert status == "unconfigured"
    assert body.startswith(
        "Bristol Plumbing: your appointment is booked for Tuesday the 8th of December at 1 PM."
    )
    assert "sink" not in body.lower() and "repair" not in body.lower()  # no problem detail

    code = re.search(r"Booking code (\d{6})\.", body).group(1)
    assert code == booked["reference"]

    # A later call from the same number: caller ID + name is not enough (both can be known to
    # someone else); with the booking code from the text it is.
    later = await new_session(store, BRISTOL, now=NOW, outbox=outbox, call_sid="CA" + "2" * 32)
    asked = await find_my_appointments.TOOL.run(later, {"customer_name": "john smith"})
    assert asked["reason"] == "need_more_proof" and "booking code" in asked["error"]
    found = await find_my_appointments.TOOL.run(
        later, {"customer_name": "john smith", "booking_code": " ".join(code)}
    )
    assert found["ok"] and found["appointments"][0]["time"].startswith("Tuesday the 8th")
    ref = found["appointments"][0]["booking_ref"]
    new_time = await check_availability.TOOL.run(
        later, {"when": "Wednesday at 9 am", "booking_ref": ref}
    )
    moved = await reschedule_appointment.TOOL.run(
        later, {"booking_ref": ref, "slot_id": new_time["options"][0]["slot_id"]}
    )
    assert moved["status"] == "moved" and "Wednesday the 9th at 9 AM" in moved["say"]
    cancelled = await cancel_appointment.TOOL.run(later, {"booking_ref": ref})
    assert cancelled["status"] == "cancelled"
    kinds = [r[0] for r in await store.read_all("SELECT kind FROM outbox ORDER BY id")]
    assert kinds == ["booking_confirmation", "booking_moved", "booking_cancelled"]
    assert await store.read_all("SELECT status FROM bookings") == [("cancelled",)]
    assert await store.read_all("SELECT COUNT(*) FROM slot_claims") == [(0,)]
    await store.close()


async def test_identity_before_change(tmp_path):
    store = await open_store(tmp_path)
    owner_of_booking = await new_session(store, BRISTOL, now=NOW)
    offered = await check_availability.TOOL.run(owner_of_booking, {"when": "tomorrow"})
    booked = await book_appointment.TOOL.run(
        owner_of_booking, {"slot_id": offered["options"][0]["slot_id"], **DETAILS}
    )
    ref = booked["booking_ref"]

    # Someone else, spoofing nothing: name alone is not enough, and nothing is revealed.
    stranger = await new_session(
        store, BRISTOL, now=NOW, caller="+12125550123", call_sid="CA" + "3" * 32
    )
    asked = await find_my_appointments.TOOL.run(stranger, {"customer_name": "John Smith"})
    assert asked["ok"] is False and asked["reason"] == "need_more_proof"
    nobody = await find_my_appointments.TOOL.run(stranger, {"customer_name": "Nobody Here"})
    assert nobody["error"] == asked["error"]  # same words whether or not a booking exists
    wrong = await find_my_appointments.TOOL.run(
        stranger,
        {
            "customer_name": "John Smith",
            "appointment_date": "tomorrow",
            "street_or_postcode": "14 Elm Street",
        },
    )
    assert wrong["reason"] == "not_found" and "12 Oak" not in str(wrong)
    # It cannot be changed without being found first, even with the right reference.
    for tool, args in (
        (cancel_appointment, {"booking_ref": ref}),
        (reschedule_appointment, {"booking_ref": ref, "slot_id": "slot-aaaaaaaa"}),
    ):
        refused = await tool.TOOL.run(stranger, args)
        assert refused["reason"] == "not_verified"
    # Name + date + postcode proves it without caller ID; only the caller's own booking is read.
    right = await find_my_appointments.TOOL.run(
        stranger,
        {
            "customer_name": "john smith",
            "appointment_date": "Tuesday",
            "street_or_postcode": "06010",
        },
    )
    assert right["ok"] and [a["booking_ref"] for a in right["appointments"]] == [ref]
    assert "Oak" not in str(right) and "0199" not in str(right)

    # Caller ID matches but the name does not: treated like a stranger.
    spoofed = await new_session(store, BRISTOL, now=NOW, call_sid="CA" + "4" * 32)
    mismatch = await find_my_appointments.TOOL.run(spoofed, {"customer_name": "Jane Doe"})
    assert mismatch["reason"] == "need_more_proof"
    # Lookups per call are capped.
    for _ in range(3):
        await find_my_appointments.TOOL.run(spoofed, {"customer_name": "Jane Doe"})
    assert (await find_my_appointments.TOOL.run(spoofed, {"customer_name": "John Smith"}))[
        "reason"
    ] == "too_many_lookups"
    assert await store.read_all("SELECT status FROM bookings") == [("confirmed",)]
    await store.close()


async def test_dental_profile_books_in_london_time(tmp_path):
    dental = profile(DENTAL)
    store = await open_store(tmp_path)
    # Friday 27 March 2026 09:00 in London; the clocks go forward on Sunday the 29th.
    now = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    session = await new_session(
        store, dental, now=now, caller="+447700900555", profile_name="riverside_dental"
    )
    offered = await check_availability.TOOL.run(
        session, {"when": "Monday at 9:30", "service": "check-up"}
    )
    assert offered["options"][0]["time"] == "Monday the 30th at 9:30 AM"
    booked = await book_appointment.TOOL.run(
        session,
        {
            "slot_id": offered["options"][0]["slot_id"],
            "customer_name": "Amy Jones",
            "callback_number": "07700 900555",
            "service_address": "3 Hay Lane, London SE1 9PP",
            "problem_summary": "Routine check-up",
        },
    )
    assert booked["status"] == "booked"
    row = await store.read_one("SELECT start_utc, phone FROM bookings")
    assert row == ("2026-03-30T08:30:00+00:00", "+447700900555")  # BST: UTC+1
    await store.close()
