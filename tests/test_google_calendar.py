"""Google Calendar through the real google-api-python-client, against the loopback fake.

Covers the service-account token exchange, the event's shape, idempotent retried inserts,
hand-made events, races between hosts, etags (412), backoff inside the budget, no retries on
permanent errors, and an outage ending as a pending request plus an owner text.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

import pytest

from bot.config import Settings
from bot.outbox import Outbox
from bot.scheduling.errors import CalendarRejected, SlotTaken
from bot.scheduling.google_api import GoogleApi
from bot.scheduling.google_calendar import GoogleCalendar
from bot.scheduling.google_events import event_id_for
from bot.scheduling.ledger import Ledger
from bot.scheduling.service import Scheduler
from bot.storage import Store
from bot.twilio_rest import TwilioRest
from tests.fakes.google_calendar import DEFAULT_CALENDAR_ID, SA_EMAIL
from tests.scheduling_support import new_session
from tests.test_scheduling_booking import (
    BRISTOL,
    CALLER,
    DETAILS,
    NOW,
    booking,
    local,
    race_for_one_slot,
)
from tools import book_appointment, check_availability, find_my_appointments, reschedule_appointment

TUESDAY = date(2026, 12, 8)
OWNER = BRISTOL.owner.phones[0]


def make_api(fakes, *, budget: float = 2.0, timeout: float = 0.5) -> GoogleApi:
    return GoogleApi.from_service_account(
        fakes.google_service_account_file,
        calendar_id=DEFAULT_CALENDAR_ID,
        base_url=fakes.google.api_endpoint,
        timeout_secs=timeout,
        budget_secs=budget,
    )


class Host:
    """One server's worth of scheduling: its own database, the shared fake Google calendar."""

    def __init__(self, fakes, tmp_path, name: str = "host", **api_kw) -> None:
        self.fakes, self.path, self.api_kw = fakes, tmp_path / name, api_kw

    async def __aenter__(self) -> Host:
        settings = Settings(
            _env_file=None,
            data_dir=self.path,
            **{k.lower(): v for k, v in self.fakes.env().items()},
        )
        self.store = await Store.open(settings.database_path)
        self.twilio = TwilioRest(settings)
        self.outbox = Outbox(self.store, self.twilio)
        self.ledger = Ledger(self.store)
        await self.ledger.setup()
        self.calendar = GoogleCalendar(make_api(self.fakes, **self.api_kw), self.ledger, BRISTOL)
        self.scheduler = Scheduler(
            BRISTOL, self.calendar, self.ledger, outbox=self.outbox, clock=lambda: NOW
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.twilio.close()
        await self.store.close()

    async def session(self, n: int = 1, caller: str | None = CALLER):
        return await new_session(
            self.store,
            BRISTOL,
            now=NOW,
            caller=caller,
            calendar=self.calendar,
            outbox=self.outbox,
            call_sid=f"CA{n:032d}",
        )


def sms_to(fakes, number: str) -> list[dict]:
    return [m for m in fakes.twilio.messages if m["form"]["To"] == number and m["status"] == 201]


async def offer_and_book(session, when: str = "tomorrow at 10 am") -> dict:
    offered = await check_availability.TOOL.run(session, {"when": when})
    assert offered["ok"], offered
    return await book_appointment.TOOL.run(
        session, {"slot_id": offered["options"][0]["slot_id"], **DETAILS}
    )


async def test_booking_exchanges_a_token_and_writes_the_event(fakes, tmp_path):
    async with Host(fakes, tmp_path) as host:
        session = await host.session()
        session.emergency = True
        result = await offer_and_book(session)
    assert result["status"] == "booked", result
    # Service-account JWT-bearer exchange at the fake token endpoint, then Bearer on every call.
    tokens = [t for t in fakes.google.token_requests if t["status"] == 200]
    assert tokens and tokens[0]["claims"]["iss"] == SA_EMAIL
    assert "auth/calendar.events" in tokens[0]["claims"]["scope"]
    assert all(
        r["authorization"].startswith("Bearer fake-access-token-") for r in fakes.google.requests
    )
    [event] = fakes.google.live_events()
    assert event["id"] == event_id_for(DEFAULT_CALENDAR_ID, result["booking_ref"])
    assert event["summary"] == "Bristol Plumbing - Plumbing repair - John Smith"
    assert event["start"] == {
        "dateTime": "2026-12-08T10:00:00-05:00",
        "timeZone": "America/New_York",
    }
    assert event["end"] == {"dateTime": "2026-12-08T11:00:00-05:00", "timeZone": "America/New_York"}
    assert event["location"] == DETAILS["service_address"]
    description = event["description"]
    for line in (
        "Problem: Kitchen sink leaking under the cabinet",
        f"Callback: {CALLER}",
        "Emergency: yes",
        f"Call: {session.call_id}",
    ):
        assert line in description
    assert event["extendedProperties"]["private"] == {
        "booking_id": result["booking_ref"],
        "source": "receptionist",
    }
    # Layers 2 and 4: a list before the insert and one after.
    assert [r["op"] for r in fakes.google.requests if r["op"] != "freebusy"] == [
        "list",
        "insert",
        "list",
    ]
    [text] = sms_to(fakes, CALLER)
    assert "booked for Tuesday the 8th of December at 10 AM" in text["form"]["Body"]
    assert "sink" not in text["form"]["Body"].lower()


@pytest.mark.parametrize("lost", ["500", "hang"])
async def test_retried_insert_after_a_lost_response_is_idempotent(fakes, tmp_path, lost):
    if lost == "500":
        fakes.google.fail_next(500, op="insert", apply=True)
    else:
        fakes.google.hang_next(op="insert", apply=True)
    async with Host(fakes, tmp_path, budget=3.0, timeout=0.5) as host:
        outcome = await host.calendar.book(booking(local(TUESDAY, 10)))
        assert outcome.booking.status == "confirmed" and not outcome.pending
        row = await host.store.read_one("SELECT status, event_id FROM bookings")
    assert len(fakes.google.live_events()) == 1
    assert row == ("confirmed", fakes.google.live_events()[0]["id"])
    inserts = [r["status"] for r in fakes.google.requests if r["op"] == "insert"]
    assert inserts[-1] == 409 and fakes.google.count("get", 200) == 1


async def test_an_event_added_by_hand_takes_the_slot(fakes, tmp_path):
    fakes.google.add_event(local(TUESDAY, 10), local(TUESDAY, 11), "Dave's dentist")
    async with Host(fakes, tmp_path) as host:
        session = await host.session()
        offered = await check_availability.TOOL.run(session, {"when": "tomorrow morning"})
        times = [o["time"] for o in offered["options"]]
        assert offered["ok"] and not any(t.endswith(("at 10 AM", "at 9:30 AM")) for t in times)
        with pytest.raises(SlotTaken):  # straight at the calendar, past availability
            await host.calendar.book(booking(local(TUESDAY, 10, 30)))
        assert await host.store.read_all("SELECT status FROM bookings") == [("released",)]
    assert len(fakes.google.live_events()) == 1


async def test_concurrent_bookings_through_google_exactly_one_wins(fakes, tmp_path):
    async with Host(fakes, tmp_path) as host:

        async def make(round_no: int, i: int):  # different people, each under their own limit
            return await host.session(
                round_no * 100 + i, caller=f"+1860555{round_no * 100 + i:04d}"
            )

        await race_for_one_slot(make, rounds=4, callers=10)
    assert len(fakes.google.live_events()) == 4


async def test_two_hosts_racing_for_one_slot_leave_one_event(fakes, tmp_path):
    """Separate databases (no shared lock): Google-side layers 2-4 still leave one event."""
    async with (
        Host(fakes, tmp_path, "a") as a,
        Host(fakes, tmp_path, "b") as b,
        Host(fakes, tmp_path, "c") as c,
    ):
        for round_no in range(4):
            start = local(TUESDAY, 8 + 2 * round_no)
            attempts = [h.calendar.book(booking(start)) for h in (a, b, c) for _ in range(2)]
            results = await asyncio.gather(*attempts, return_exceptions=True)
            won = [r for r in results if not isinstance(r, BaseException)]
            assert len(won) == 1 and won[0].booking.status == "confirmed", results
            assert all(isinstance(r, SlotTaken) for r in results if r not in won)
            live = [
                e
                for e in fakes.google.live_events()
                if e["start"]["dateTime"].startswith(f"2026-12-08T{8 + 2 * round_no:02d}")
            ]
            assert len(live) == 1 and live[0]["id"] == won[0].booking.event_id


async def test_owner_edits_are_never_overwritten(fakes, tmp_path):
    async with Host(fakes, tmp_path) as host:
        session = await host.session()
        booked = await offer_and_book(session)
        ref = booked["booking_ref"]
        event_id = event_id_for(DEFAULT_CALENDAR_ID, ref)
        # The owner adds a note by hand: the move gets 412, re-reads, re-applies, keeps the note.
        fakes.google.edit_event(event_id, description="Bring the long ladder")
        offered = await check_availability.TOOL.run(
            session, {"when": "Wednesday at 2 pm", "booking_ref": ref}
        )
        moved = await reschedule_appointment.TOOL.run(
            session, {"booking_ref": ref, "slot_id": offered["options"][0]["slot_id"]}
        )
        assert moved["status"] == "moved", moved
        [event] = fakes.google.live_events()
        assert event["description"] == "Bring the long ladder"
        assert event["start"]["dateTime"] == "2026-12-09T14:00:00-05:00"
        assert [r["status"] for r in fakes.google.requests if r["op"] == "patch"] == [412, 200]
        # The owner moves it by hand: our move is refused and reported, their time stands.
        fakes.google.edit_event(
            event_id,
            start={"dateTime": "2026-12-10T09:00:00-05:00"},
            end={"dateTime": "2026-12-10T10:00:00-05:00"},
        )
        offered = await check_availability.TOOL.run(
            session, {"when": "Friday at 9", "booking_ref": ref}
        )
        refused = await reschedule_appointment.TOOL.run(
            session, {"booking_ref": ref, "slot_id": offered["options"][0]["slot_id"]}
        )
        assert refused["ok"] is False and refused["reason"] == "owner_edited"
        [event] = fakes.google.live_events()
        assert event["start"]["dateTime"] == "2026-12-10T09:00:00-05:00"
        row = await host.store.read_one("SELECT start_utc, status FROM bookings")
        assert row == ("2026-12-09T19:00:00+00:00", "confirmed")
        assert await host.store.read_all("SELECT kind, reason FROM pending_requests") == [
            ("reschedule", "owner_edited")
        ]
    owner_texts = sms_to(fakes, OWNER)
    assert len(owner_texts) == 1 and "Edited by hand" in owner_texts[0]["form"]["Body"]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (429, None),
        (500, None),
        (503, None),
        (403, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
    ],
)
async def test_transient_errors_are_retried_within_the_budget(fakes, tmp_path, status, reason):
    fakes.google.fail_next(status, 2, reason=reason, op="freebusy")
    async with Host(fakes, tmp_path, budget=3.0) as host:
        started = time.monotonic()
        busy = await host.calendar.busy(NOW, NOW + timedelta(days=2))
        elapsed = time.monotonic() - started
    assert busy == []
    assert [r["status"] for r in fakes.google.requests if r["op"] == "freebusy"] == [
        status,
        status,
        200,
    ]
    assert elapsed < 3.0


@pytest.mark.parametrize(
    ("status", "reason"),
    [(400, None), (403, "forbidden"), (403, "forbiddenForServiceAccounts"), (404, None)],
)
async def test_permanent_errors_are_not_retried(fakes, tmp_path, status, reason):
    fakes.google.fail_next(status, 5, reason=reason, op="freebusy")
    async with Host(fakes, tmp_path) as host:
        with pytest.raises(CalendarRejected):
            await host.calendar.busy(NOW, NOW + timedelta(days=2))
    assert fakes.google.count("freebusy") == 1


async def test_permission_error_on_insert_keeps_the_request_for_the_office(fakes, tmp_path):
    fakes.google.fail_next(403, 5, reason="forbiddenForServiceAccounts", op="insert")
    async with Host(fakes, tmp_path) as host:
        result = await offer_and_book(await host.session())
        assert result["status"] == "pending" and "office" in result["say"]
        assert await host.store.read_all("SELECT kind, reason FROM pending_requests") == [
            ("book", "calendar_rejected")
        ]
    assert fakes.google.count("insert") == 1  # never retried
    assert len(sms_to(fakes, OWNER)) == 1 and not sms_to(fakes, CALLER)


async def test_outage_means_a_pending_request_and_an_owner_text(fakes, tmp_path):
    fakes.google.hang_next(1000)  # every request hangs: the calendar is unreachable
    async with Host(fakes, tmp_path, budget=1.0, timeout=0.4) as host:
        session = await host.session()
        started = time.monotonic()
        offered = await check_availability.TOOL.run(session, {"when": "tomorrow at 10 am"})
        assert offered["ok"] and "office will confirm" in offered["note"]
        booked = await book_appointment.TOOL.run(
            session, {"slot_id": offered["options"][0]["slot_id"], **DETAILS}
        )
        elapsed = time.monotonic() - started
        assert booked["status"] == "pending" and booked["booked"] is False
        assert "they'll confirm it with you by text" in booked["say"]
        rows = await host.store.read_all("SELECT status FROM bookings")
        pending = await host.store.read_all("SELECT kind, reason FROM pending_requests")
        # The caller proved it is theirs by booking it; asking again later finds it pending.
        found = await find_my_appointments.TOOL.run(
            session, {"customer_name": "John Smith", "street_or_postcode": "12 Oak Street"}
        )
    assert rows == [("pending",)] and pending == [("book", "calendar_unavailable")]
    assert found["appointments"][0]["status"] == "waiting for the office to confirm"
    assert elapsed < 1.0 * 3 + 1.0  # availability and insert each stay inside the budget
    [alert] = sms_to(fakes, OWNER)
    assert "New booking request" in alert["form"]["Body"] and CALLER in alert["form"]["Body"]
    assert not sms_to(fakes, CALLER)  # no confirmation for a booking that did not happen


async def test_recheck_after_insert_withdraws_ours_when_a_rival_came_first(fakes, tmp_path):
    """Layer 4, deterministically: a rival lands between our pre-check and our insert."""
    async with Host(fakes, tmp_path) as host:
        rival = booking(local(TUESDAY, 10))
        calendar = host.calendar
        real = calendar._events_around
        calls = {"n": 0}

        async def late_rival(start, end):
            calls["n"] += 1
            if calls["n"] == 1:  # our pre-check saw nothing; then another host inserts
                fakes.google.add_event(
                    local(TUESDAY, 10),
                    local(TUESDAY, 11),
                    "rival",
                    event_id=event_id_for(DEFAULT_CALENDAR_ID, rival.id),
                )
                fakes.google.edit_event(
                    event_id_for(DEFAULT_CALENDAR_ID, rival.id),
                    extendedProperties={"private": {"booking_id": rival.id}},
                )
                return []
            return await real(start, end)

        calendar._events_around = late_rival
        with pytest.raises(SlotTaken):
            await calendar.book(booking(local(TUESDAY, 10, 30)))
        assert await host.store.read_all("SELECT status FROM bookings") == [("released",)]
    live = fakes.google.live_events()
    assert [e["summary"] for e in live] == ["rival"]  # ours was inserted, then withdrawn
    assert fakes.google.count("delete", 204) == 1


async def test_a_cancelled_event_with_our_id_is_restored_not_duplicated(fakes, tmp_path):
    """Deleted events keep their id (status cancelled): re-inserting gets 409; we un-cancel."""
    async with Host(fakes, tmp_path) as host:
        ours = booking(local(TUESDAY, 10))
        event_id = event_id_for(DEFAULT_CALENDAR_ID, ours.id)
        fakes.google.add_event(local(TUESDAY, 10), local(TUESDAY, 11), event_id=event_id)
        fakes.google.edit_event(
            event_id,
            status="cancelled",
            extendedProperties={"private": {"booking_id": ours.id, "source": "receptionist"}},
        )
        outcome = await host.calendar.book(ours)
    assert outcome.booking.status == "confirmed"
    [event] = fakes.google.live_events()
    assert event["id"] == event_id and event["summary"].startswith("Bristol Plumbing - ")
    update = [r for r in fakes.google.requests if r["op"] == "update"]
    assert len(update) == 1 and update[0]["if_match"] and update[0]["status"] == 200
