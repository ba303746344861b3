"""Helpers shared by the scheduling tests: profiles with chosen rules, a store, a session."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.business import Business
from bot.call_session import CallSession
from bot.config import DEFAULT_PROFILE, PROJECT_ROOT, Settings
from bot.profile import BusinessProfile
from bot.scheduling.state import SchedulingState
from bot.storage import Store

PLUMBING = DEFAULT_PROFILE
DENTAL = PROJECT_ROOT / "bot" / "profiles" / "riverside_dental.yaml"
EVERY_DAY = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def profile(path: Path = PLUMBING, **changes: Any) -> BusinessProfile:
    """A shipped profile with some fields replaced (`scheduling` is merged, not replaced)."""
    raw = yaml.safe_load(path.read_text())
    if "scheduling" in changes:
        raw["scheduling"] = {**raw.get("scheduling", {}), **changes.pop("scheduling")}
    raw.update(changes)
    return BusinessProfile.model_validate(raw)


def round_the_clock(path: Path = PLUMBING, **changes: Any) -> BusinessProfile:
    """Open 00:00-23:59 every day, no blackouts, no notice: exposes every DST edge."""
    return profile(
        path,
        hours={day: ["00:00-23:59"] for day in EVERY_DAY},
        blackout_dates=[],
        scheduling={"min_notice_minutes": 0, "buffer_minutes": 0, **changes.pop("scheduling", {})},
        **changes,
    )


def fixed_clock(now: datetime):
    """A clock that always says `now` (aware)."""
    assert now.tzinfo is not None
    return lambda: now.astimezone(UTC)


async def open_store(tmp_path: Path) -> Store:
    return await Store.open(tmp_path / "receptionist.sqlite3")


async def new_session(
    store: Store,
    business: BusinessProfile,
    *,
    now: datetime,
    caller: str | None = "+18605550199",
    calendar=None,
    outbox=None,
    call_sid: str = "CA" + "1" * 32,
    profile_name: str = "bristol_plumbing",
) -> CallSession:
    """A call record and its session, with the scheduling clock pinned to `now`.

    `calendar`: the business's calendar (with its ledger) instead of the built-in one.
    """
    call_id, _ = await store.open_twilio_call(call_sid, caller, business.phone, profile_name)
    shop = await Business.builtin(profile_name, business, store)
    if calendar is not None:
        shop = dataclasses.replace(shop, calendar=calendar)
    return CallSession(
        call_id=call_id,
        transport="twilio",
        caller=caller,
        called=business.phone,
        business=shop,
        settings=Settings(_env_file=None),
        store=store,
        twilio=None,
        outbox=outbox,
        scheduling=SchedulingState(clock=fixed_clock(now)),
    )


def write_service_account(fake, path: Path) -> Path:
    path.write_text(json.dumps(fake.service_account_info()))
    return path
