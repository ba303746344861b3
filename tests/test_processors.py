"""Custom processors driven frame by frame through Pipecat's own `run_test` (no server, no audio)."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import InputDTMFFrame, TextFrame, TranscriptionFrame
from pipecat.tests.utils import run_test

from bot.business import Business
from bot.call_session import CallSession
from bot.config import DEFAULT_PROFILE, Settings
from bot.profile import load_profile
from bot.storage import Store
from bot.tenants.model import Numbers, Tenant
from bot.tenants.pins import hash_pin
from pipelines.owner_pin_gate import OwnerPinGate
from pipelines.spoken_digits import SpokenDigitsWithheld

OWNER = "+18605550111"  # an owner number of the shipped plumbing profile
STRANGER = "+18605550199"


class RecordingControl:
    """The call's control as the PIN gate sees it: records each PIN it is asked to check."""

    def __init__(self) -> None:
        self.pins: list[str] = []

    async def verify_owner_pin(self, pin: str, *, respond: bool = False) -> bool:
        self.pins.append(pin)
        return False


@pytest.fixture
async def store(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    yield store
    await store.close()


async def session_for(store: Store, caller: str) -> CallSession:
    call_id, _ = await store.open_twilio_call("CA" + "7" * 32, caller, "+18605550100", "p")
    profile = load_profile(DEFAULT_PROFILE)
    tenant = Tenant(
        id="bristol_plumbing",
        profile=profile,
        numbers=Numbers(voice=("+18605550100",)),
        owner_pin_hash=hash_pin("4321"),
    )
    business = await Business.builtin("bristol_plumbing", profile, store, tenant=tenant)
    session = CallSession(
        call_id=call_id,
        transport="twilio",
        caller=caller,
        called="+18605550100",
        business=business,
        settings=Settings(_env_file=None),
        store=store,
        twilio=None,
    )
    session.control = RecordingControl()  # type: ignore[assignment]
    return session


def keys(*buttons: str) -> list[InputDTMFFrame]:
    return [InputDTMFFrame(KeypadEntry(b)) for b in buttons]


async def test_keypad_digits_are_checked_only_on_pound_and_never_passed_on(store):
    session = await session_for(store, OWNER)
    down, _ = await run_test(
        OwnerPinGate(session),
        frames_to_send=[*keys("1", "2", "3"), TextFrame("after"), *keys("*", "4", "3", "2", "1")],
        expected_down_frames=[TextFrame],
    )
    await asyncio.sleep(0)
    assert session.control.pins == []  # no #: nothing submitted, so the length never shows
    await run_test(OwnerPinGate(session), frames_to_send=[*keys("4", "3", "2", "1", "#")])
    await asyncio.sleep(0.05)
    assert session.control.pins == ["4321"]


async def test_keypad_on_a_strangers_call_is_ignored(store):
    session = await session_for(store, STRANGER)
    await run_test(OwnerPinGate(session), frames_to_send=keys("4", "3", "2", "1", "#"))
    await asyncio.sleep(0.05)
    assert session.control.pins == []


@pytest.mark.parametrize(
    ("caller", "said", "passed_on"),
    [
        (OWNER, "my pin is four three two one", "my pin is [digits withheld]"),
        (OWNER, "it's 4321", "it's [digits withheld]"),
        (STRANGER, "call me on 860 555 0199", "call me on 860 555 0199"),
    ],
)
async def test_spoken_digits_are_withheld_only_while_an_owner_pin_is_pending(
    store, caller, said, passed_on
):
    session = await session_for(store, caller)
    down, _ = await run_test(
        SpokenDigitsWithheld(session),
        frames_to_send=[TranscriptionFrame(said, "caller", "2026-12-02T10:00:00Z")],
        expected_down_frames=[TranscriptionFrame],
    )
    assert down[0].text == passed_on
