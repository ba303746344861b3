"""The pure Google event mapping: the event we write, and how events on the calendar are read.

Table tests; the same functions are exercised over the wire, against the fake Google, by
`test_google_calendar.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.scheduling.google_events import (
    SOURCE,
    blocks,
    booking_id_of,
    came_first,
    event_body,
    event_id_for,
    parse_time,
    rfc3339,
    times_body,
    unchanged,
)
from bot.scheduling.ledger import Booking
from tests.scheduling_support import profile

BRISTOL = profile()  # America/New_York
LONDON = profile(timezone="Europe/London")
START = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # Tuesday 2 PM in Bristol (EST)
END = START + timedelta(hours=1)
BUFFER = timedelta(minutes=30)


def booking(**kw) -> Booking:
    fields = dict(
        id="0123456789abcdef",
        service_id="repair",
        start=START,
        end=END,
        status="held",
        customer_name="John Smith",
        phone="+18605550199",
        address="12 Oak Street, Bristol, CT 06010",
        summary="Kitchen sink leaking",
        emergency=False,
        call_id="call-1",
    )
    return Booking(**{**fields, **kw})


def timed(start: str, end: str, **kw) -> dict:
    return {"start": {"dateTime": start}, "end": {"dateTime": end}, **kw}


def ours(booking_id: str, **kw) -> dict:
    return {"extendedProperties": {"private": {"booking_id": booking_id, "source": SOURCE}}, **kw}


def test_event_id_is_deterministic_base32hex_of_calendar_and_booking():
    first = event_id_for("cal@example.com", "0123456789abcdef")
    assert first == event_id_for("cal@example.com", "0123456789abcdef")
    assert len(first) == 32 and set(first) <= set("0123456789abcdefghijklmnopqrstuv")
    assert first != event_id_for("other@example.com", "0123456789abcdef")
    assert first != event_id_for("cal@example.com", "0123456789abcdeg")


def test_event_body_for_a_booking():
    assert event_body(BRISTOL, "cal@example.com", booking()) == {
        "id": event_id_for("cal@example.com", "0123456789abcdef"),
        "summary": "Bristol Plumbing - Plumbing repair - John Smith",
        "location": "12 Oak Street, Bristol, CT 06010",
        "description": "Problem: Kitchen sink leaking\n"
        "Callback: +18605550199\n"
        "Emergency: no\n"
        "Call: call-1\n"
        "Booking code: 499128 (booked by the AI receptionist)",
        "start": {"dateTime": "2026-12-08T14:00:00-05:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-12-08T15:00:00-05:00", "timeZone": "America/New_York"},
        "status": "confirmed",
        "extendedProperties": {"private": {"booking_id": "0123456789abcdef", "source": SOURCE}},
    }


@pytest.mark.parametrize(
    ("changes", "key", "expected"),
    [
        ({"emergency": True}, "description", "Emergency: yes"),
        ({"call_id": None}, "description", "Call: -"),
        ({"service_id": "gone"}, "summary", "Bristol Plumbing - Gone - John Smith"),
        ({"service_id": "drain_cleaning"}, "summary", "Bristol Plumbing - Drain cleaning - "),
    ],
)
def test_event_body_details(changes, key, expected):
    assert expected in event_body(BRISTOL, "cal", booking(**changes))[key]


@pytest.mark.parametrize(
    ("business", "start", "expected"),
    [
        (BRISTOL, START, "2026-12-08T14:00:00-05:00"),
        (LONDON, START, "2026-12-08T19:00:00+00:00"),
        (BRISTOL, datetime(2026, 7, 1, 13, 30, tzinfo=UTC), "2026-07-01T09:30:00-04:00"),
        (LONDON, datetime(2026, 7, 1, 13, 30, tzinfo=UTC), "2026-07-01T14:30:00+01:00"),
    ],
)
def test_times_are_written_in_the_business_zone(business, start, expected):
    body = times_body(business, start, start + timedelta(minutes=45))
    assert body["start"] == {"dateTime": expected, "timeZone": business.timezone}
    assert parse_time(body["end"]["dateTime"]) == start + timedelta(minutes=45)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-12-08T19:00:00Z", START),
        ("2026-12-08T14:00:00-05:00", START),
        ("2026-12-08T19:00:00+00:00", START),
        ("2026-12-08T20:00:00+01:00", START),
    ],
)
def test_api_times_parse_to_utc(text, instant):
    got = parse_time(text)
    assert got == instant and got.tzinfo == UTC
    assert rfc3339(got) == "2026-12-08T19:00:00Z"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (ours("abc"), "abc"),
        ({}, None),
        ({"extendedProperties": None}, None),
        ({"extendedProperties": {"private": None}}, None),
        ({"extendedProperties": {"shared": {"booking_id": "abc"}}}, None),
    ],
)
def test_booking_id_of(event, expected):
    assert booking_id_of(event) == expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        # Overlap with the buffer of 30 minutes either side of 14:00-15:00 local.
        (timed("2026-12-08T14:30:00-05:00", "2026-12-08T15:30:00-05:00"), True),
        (timed("2026-12-08T12:00:00-05:00", "2026-12-08T13:31:00-05:00"), True),
        (timed("2026-12-08T12:00:00-05:00", "2026-12-08T13:30:00-05:00"), False),
        (timed("2026-12-08T15:29:00-05:00", "2026-12-08T16:00:00-05:00"), True),
        (timed("2026-12-08T15:30:00-05:00", "2026-12-08T16:00:00-05:00"), False),
        (timed("2026-12-08T20:00:00Z", "2026-12-08T20:15:00Z"), True),  # 15:00-15:15 local
        # Not blocking: cancelled, free ("transparent"), or this booking's own event.
        (
            timed("2026-12-08T14:00:00-05:00", "2026-12-08T15:00:00-05:00", status="cancelled"),
            False,
        ),
        (
            timed(
                "2026-12-08T14:00:00-05:00", "2026-12-08T15:00:00-05:00", transparency="transparent"
            ),
            False,
        ),
        (
            {
                **timed("2026-12-08T14:00:00-05:00", "2026-12-08T15:00:00-05:00"),
                **ours("0123456789abcdef"),
            },
            False,
        ),
        (
            {
                **timed("2026-12-08T14:00:00-05:00", "2026-12-08T15:00:00-05:00"),
                **ours("someoneelse00000"),
            },
            True,
        ),
        # All-day events (date, not dateTime) block the whole day; so does one without times.
        ({"start": {"date": "2026-12-08"}, "end": {"date": "2026-12-09"}}, True),
        ({}, True),
    ],
)
def test_blocks(event, expected):
    assert blocks(event, booking(), BUFFER) is expected


def test_no_buffer_means_touching_events_do_not_block():
    touching = timed("2026-12-08T15:00:00-05:00", "2026-12-08T16:00:00-05:00")
    assert not blocks(touching, booking(), timedelta(0))
    assert blocks(touching, booking(), timedelta(minutes=1))


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (timed("2026-12-08T14:00:00-05:00", "2026-12-08T15:00:00-05:00"), True),
        (timed("2026-12-08T19:00:00Z", "2026-12-08T20:00:00Z", summary="renamed"), True),
        (timed("2026-12-08T14:30:00-05:00", "2026-12-08T15:30:00-05:00"), False),  # moved
        (timed("2026-12-08T14:00:00-05:00", "2026-12-08T15:30:00-05:00"), False),  # longer
        (
            timed("2026-12-08T14:00:00-05:00", "2026-12-08T15:00:00-05:00", status="cancelled"),
            False,
        ),
        ({"start": {"date": "2026-12-08"}, "end": {"date": "2026-12-09"}}, False),
        (timed("not a time", "2026-12-08T15:00:00-05:00"), False),
        ({"start": None, "end": None}, False),
        (None, False),
    ],
)
def test_unchanged(event, expected):
    assert unchanged(event, booking()) is expected


MINE = {"id": "mmmm", "created": "2026-12-07T15:00:01.000Z", **ours("mine")}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"id": "zzzz", "created": "2026-12-09T00:00:00.000Z"}, True),  # by hand: always first
        ({"id": "zzzz", "created": "2026-12-07T15:00:00.000Z", **ours("b")}, True),
        ({"id": "aaaa", "created": "2026-12-07T15:00:02.000Z", **ours("b")}, False),
        ({"id": "aaaa", "created": "2026-12-07T15:00:01.000Z", **ours("b")}, True),  # tie: id
        ({"id": "zzzz", "created": "2026-12-07T15:00:01.000Z", **ours("b")}, False),
        ({"id": "aaaa", **ours("b")}, True),  # no `created` sorts first
    ],
)
def test_came_first(event, expected):
    assert came_first(event, MINE) is expected
