"""The tools the LLM can call. One module per tool, its schema beside its handler.

Adding a tool means adding a module that defines its arguments model and `TOOL = Tool(...)`, and
one line in `ALL_TOOLS`. The model is the schema the LLM sees (field descriptions included) and is
validated once, by `Tool.run`, so handlers take the call session and typed arguments and return a
JSON-able dict. They never raise for bad input: they return
`{"ok": False, "error": "<something the bot can say>"}`.
"""

from __future__ import annotations

from tools import (
    answer_faq,
    book_appointment,
    business_hours,
    cancel_appointment,
    check_availability,
    current_time,
    end_call,
    find_my_appointments,
    flag_emergency,
    not_an_emergency,
    owner_emergencies,
    owner_messages,
    owner_next_appointment,
    owner_schedule,
    reschedule_appointment,
    take_message,
    transfer_call,
    verify_owner_pin,
)
from tools.base import Tool

ALL_TOOLS: list[Tool] = [
    current_time.TOOL,
    answer_faq.TOOL,
    business_hours.TOOL,
    check_availability.TOOL,
    book_appointment.TOOL,
    find_my_appointments.TOOL,
    reschedule_appointment.TOOL,
    cancel_appointment.TOOL,
    take_message.TOOL,
    transfer_call.TOOL,
    flag_emergency.TOOL,
    not_an_emergency.TOOL,
    end_call.TOOL,
    # Owner mode: offered only on calls from an owner number, and only after the PIN.
    verify_owner_pin.TOOL,
    owner_schedule.TOOL,
    owner_next_appointment.TOOL,
    owner_messages.TOOL,
    owner_emergencies.TOOL,
]


def tools_for(session) -> list[Tool]:
    """The tools registered with the LLM for this call, after each tool's availability check."""
    return [tool for tool in ALL_TOOLS if tool.available(session)]


__all__ = ["ALL_TOOLS", "Tool", "tools_for"]
