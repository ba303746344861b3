"""The owner's schedule questions, answered from the calendar for the ear."""

from __future__ import annotations

import re
from datetime import datetime

from bot.profile import load_profile
from tests.scheduling_support import PLUMBING, new_session, open_store
from tools import (
    book_appointment,
    check_availability,
    owner_next_appointment,
    owner_schedule,
    tools_for,
)

NOW = datetime.fromisoformat("2026-11-30T08:00:00-05:00")  # a Monday morning in Bristol, CT


async def _book(session, when: str, name: str, address: str) -> None:
    offered = await check_availability.TOOL.run(session, {"when": when})
    assert offered["ok"], offered
    slot = offered["options"][0]["slot_id"]
    booked = await book_appointment.TOOL.run(
        session,
        {
            "slot_id": slot,
            "customer_name": name,
            "callback_number": "+18605550142",
            "service_address": address,
            "problem_summary": "Leaking kitchen tap",
        },
    )
    assert booked["ok"], booked


async def test_owner_hears_the_count_then_times_and_names(tmp_path):
    store = await open_store(tmp_path)
    try:
        caller = await new_session(store, load_profile(PLUMBING), now=NOW)
        await _book(caller, "tomorrow at 9 am", "Maria Lopez", "12 Elm Street, Bristol")
        await _book(caller, "tomorrow at 2 pm", "Tom Baker", "5 Oak Lane, Plainville")
        assert not {"owner_schedule", "owner_next_appointment"} & {
            t.name for t in tools_for(caller)
        }

        owner = await new_session(
            store, load_profile(PLUMBING), now=NOW, caller="+18605550111", call_sid="CA" + "2" * 32
        )
        owner.is_owner = True
        assert {"owner_schedule", "owner_next_appointment"} <= {t.name for t in tools_for(owner)}
        day = await owner_schedule.TOOL.run(owner, {"when": "tomorrow"})
        assert day["ok"] and day["count"] == 2
        spoken = day["spoken"]
        assert spoken.startswith("2 appointments")
        assert spoken.index("9 AM, Maria Lopez") < spoken.index("2 PM, Tom Baker")
        assert not re.search(r"\b[0-9a-v]{16}\b|slot-", spoken)  # no ids read out
        afternoon = await owner_schedule.TOOL.run(owner, {"when": "tomorrow afternoon"})
        assert afternoon["count"] == 1 and "Tom Baker" in afternoon["spoken"]
        first = await owner_next_appointment.TOOL.run(owner, {"when": "tomorrow", "which": "first"})
        assert "9 AM, Maria Lopez" in first["spoken"]
        today = await owner_schedule.TOOL.run(owner, {"when": "today"})
        assert today["count"] == 0 and today["spoken"].startswith("Nothing booked")
    finally:
        await store.close()
