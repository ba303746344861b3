"""Tool handlers answer nonsense arguments with a speakable error and do nothing."""

from __future__ import annotations

from datetime import date

import pytest

from bot.business import Business
from bot.call_session import CallSession
from bot.config import DEFAULT_PROFILE, Settings
from bot.profile import load_profile
from bot.storage import Store
from tools import current_time, end_call


class RecordingControl:
    def __init__(self) -> None:
        self.ended: list[tuple[str, str]] = []

    async def end_call(self, reason: str, farewell: str, *, status: str = "COMPLETED") -> None:
        self.ended.append((reason, farewell))

    async def say(self, text: str) -> None:
        pass


@pytest.fixture
async def session(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    call_id, _ = await store.open_twilio_call("CA" + "1" * 32, "+18605550199", "+18605550100", "p")
    business = await Business.builtin("bristol_plumbing", load_profile(DEFAULT_PROFILE), store)
    yield CallSession(
        call_id=call_id,
        transport="twilio",
        caller="+18605550199",
        called="+18605550100",
        business=business,
        settings=Settings(_env_file=None),
        store=store,
        twilio=None,
        control=RecordingControl(),
    )
    await store.close()


@pytest.mark.parametrize("arguments", [{"bogus": 1}, {"reason": "x" * 10_000}, {"farewell": None}])
async def test_end_call_rejects_unknown_arguments_and_keeps_the_call(session, arguments):
    result = await end_call.TOOL.run(session, arguments)
    assert result["ok"] is False and "not valid" in result["error"]
    assert session.control.ended == []
    assert session.end_reason is None


async def test_end_call_says_the_profile_goodbye(session):
    result = await end_call.TOOL.run(session, {})
    assert result["ok"] is True
    assert session.control.ended == [("bot_ended", session.profile.goodbye)]


async def test_current_time_is_in_the_business_time_zone(session):
    result = await current_time.TOOL.run(session, {})
    assert result["ok"] and result["timezone"] == "America/New_York"
    assert date.fromisoformat(result["date"])
    assert (await current_time.TOOL.run(session, {"tz": "UTC"}))["ok"] is False
