"""Bad tool arguments from the LLM get a structured, speakable error and write nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.outbox import Outbox
from bot.scheduling.ledger import Ledger
from bot.scheduling.state import SchedulingState
from tests.scheduling_support import fixed_clock, new_session, open_store
from tests.test_scheduling_booking import BRISTOL, DETAILS, NOW
from tools import (
    ALL_TOOLS,
    book_appointment,
    cancel_appointment,
    check_availability,
    find_my_appointments,
    reschedule_appointment,
)

SCHEDULING_TOOLS = {
    "check_availability",
    "book_appointment",
    "find_my_appointments",
    "reschedule_appointment",
    "cancel_appointment",
}


@pytest.fixture
async def session(tmp_path):
    store = await open_store(tmp_path)
    await Ledger(store).setup()
    yield await new_session(store, BRISTOL, now=NOW, outbox=Outbox(store, None))
    await store.close()


async def written(session) -> dict[str, int]:
    counts = {}
    for table in ("bookings", "slot_claims", "pending_requests", "outbox"):
        counts[table] = (await session.store.read_one(f"SELECT COUNT(*) FROM {table}"))[0]
    return counts


NOTHING = {"bookings": 0, "slot_claims": 0, "pending_requests": 0, "outbox": 0}


def assert_speakable(result: dict) -> None:
    assert result["ok"] is False
    message = result["error"]
    assert isinstance(message, str) and 10 < len(message) < 400
    assert message[0].isupper() and message.rstrip()[-1] in ".?!"
    assert "Traceback" not in message and "{" not in message


def test_the_llm_sees_the_five_scheduling_tools():
    names = {tool.name for tool in ALL_TOOLS}
    assert SCHEDULING_TOOLS <= names
    for tool in ALL_TOOLS:
        if tool.name in SCHEDULING_TOOLS:
            assert set(tool.required) <= set(tool.properties)


async def offered_slot(session) -> str:
    offered = await check_availability.TOOL.run(session, {"when": "tomorrow morning"})
    return offered["options"][0]["slot_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slot_id": "slot-00000000"}, "slot_id"),  # not even a slot id
        ({"customer_name": "x" * 10_000}, "customer_name"),  # 10 kB name
        ({"customer_name": "\x00\x07\x1b"}, "customer_name"),  # control characters only
        ({"callback_number": "call me maybe"}, None),  # malformed phone
        ({"callback_number": "12"}, None),
        ({"service_address": ""}, "service_address"),
        ({"price": 0}, "price"),  # unknown field
        ({"slot_id": None}, "slot_id"),
    ],
)
async def test_bad_booking_arguments_write_nothing(session, change, field):
    arguments = {"slot_id": await offered_slot(session), **DETAILS, **change}
    result = await book_appointment.TOOL.run(session, arguments)
    assert_speakable(result)
    if field:
        assert result["field"] == field
    else:
        assert result["reason"] == "bad_phone"
    assert await written(session) == NOTHING


async def test_a_slot_not_offered_in_this_call_is_refused(session, tmp_path):
    # A well-formed id that was never offered (e.g. invented, or from another call).
    other = await new_session(session.store, BRISTOL, now=NOW, call_sid="CA" + "9" * 32)
    foreign = await offered_slot(other)
    fresh = await new_session(session.store, BRISTOL, now=NOW, call_sid="CA" + "8" * 32)
    for slot_id in ("slot-aaaaaaaa", foreign):
        result = await book_appointment.TOOL.run(fresh, {"slot_id": slot_id, **DETAILS})
        assert_speakable(result)
        assert result["reason"] == "unknown_slot"
    assert await written(session) == NOTHING


async def test_past_and_impossible_dates_are_refused(session):
    for words, reason in (
        ("2020-01-01", "past_date"),
        ("February 30th", "nonexistent_date"),
        ("in 90 days", "too_far_ahead"),
    ):
        result = await check_availability.TOOL.run(session, {"when": words})
        assert_speakable(result)
        assert result["reason"] == reason
    assert session.scheduling.offered == {}


async def test_a_slot_that_has_passed_is_not_booked(session):
    slot_id = await offered_slot(session)
    offered = session.scheduling.offered[slot_id].slot
    session.scheduling.clock = fixed_clock(offered.start + timedelta(minutes=1))
    result = await book_appointment.TOOL.run(session, {"slot_id": slot_id, **DETAILS})
    assert result["reason"] == "slot_taken" and result["options"]
    assert all(o["slot_id"] != slot_id for o in result["options"])
    assert await written(session) == NOTHING


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        (check_availability, {"when": "tomorrow", "colour": "blue"}),
        (check_availability, {"when": "x" * 500}),
        (check_availability, {"when": "tomorrow", "service": "brain surgery"}),
        (find_my_appointments, {}),
        (find_my_appointments, {"customer_name": "John", "ssn": "123"}),
        (reschedule_appointment, {"booking_ref": "not-a-ref", "slot_id": "slot-aaaaaaaa"}),
        (cancel_appointment, {"booking_ref": "0123456789abcdef", "force": True}),
        (cancel_appointment, {"booking_ref": "0123456789abcdef"}),
    ],
)
async def test_other_tools_refuse_bad_arguments(session, tool, arguments):
    assert_speakable(await tool.TOOL.run(session, arguments))
    assert await written(session) == NOTHING


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=300),
    st.lists(st.text(max_size=5), max_size=3),
)


@FUZZ
@given(
    arguments=st.dictionaries(
        st.sampled_from(
            [
                "slot_id",
                "customer_name",
                "callback_number",
                "service_address",
                "problem_summary",
                "when",
                "extra",
            ]
        ),
        junk,
        max_size=6,
    )
)
async def test_fuzzed_arguments_never_raise_or_write(session, arguments):
    session.scheduling = SchedulingState(clock=fixed_clock(NOW))
    for tool in (book_appointment, reschedule_appointment, cancel_appointment):
        result = await tool.TOOL.run(session, dict(arguments))
        assert result["ok"] is False and isinstance(result["error"], str)
    assert await written(session) == NOTHING
