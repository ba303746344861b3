"""The emergency watcher frame by frame through Pipecat's `run_test`, and its triage clocks.

No server and no audio: transcripts go in as frames, and what the owner would get is read back
from the `alerts`, `alert_triage` and `outbox` rows (Twilio is not configured, so texts stay
queued as "unconfigured").
"""

from __future__ import annotations

import asyncio

import pytest
from pipecat.frames.frames import (
    Frame,
    LLMMessagesAppendFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
)
from pipecat.tests.utils import run_test

from bot.alerts import EmergencyAlerts
from bot.business import Business
from bot.call_session import CallSession
from bot.config import DEFAULT_PROFILE, Settings
from bot.outbox import Outbox
from bot.profile import load_profile
from bot.storage import Store
from pipelines.emergency_watch import EmergencyTriage, EmergencyWatcher

PROFILE = load_profile(DEFAULT_PROFILE)
CONFIRM_SECS = 0.8
STALL_SECS = 0.3


@pytest.fixture
async def store(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    yield store
    await store.close()


async def new_session(store: Store) -> CallSession:
    call_id, _ = await store.open_twilio_call(
        "CA" + "5" * 32, "+18605550142", "+18605550100", "bristol_plumbing"
    )
    alerts = EmergencyAlerts(
        store, Outbox(store, None), None, PROFILE, ack_secs=60, business="bristol_plumbing"
    )
    await alerts.setup()
    business = await Business.builtin("bristol_plumbing", PROFILE, store, alerts)
    settings = Settings(
        _env_file=None, emergency_confirm_secs=CONFIRM_SECS, llm_stall_secs=STALL_SECS
    )
    return CallSession(
        call_id=call_id,
        transport="twilio",
        caller="+18605550142",
        called="+18605550100",
        business=business,
        settings=settings,
        store=store,
        twilio=None,
    )


def said(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", "2026-12-02T10:00:00Z")


async def passed_on(triage: EmergencyTriage, text: str) -> list[Frame]:
    """What the watcher pushes downstream for one final transcript."""
    down, _ = await run_test(EmergencyWatcher(triage), frames_to_send=[said(text)])
    return down


async def queued(frames: list[Frame]) -> None:
    """The pipeline's queue, as `flag_emergency` reaches it: nothing to do here."""


async def triage_rows(store: Store, session: CallSession) -> list[tuple]:
    return await store.read_all(
        "SELECT t.outcome, t.phone_escalation, a.life_threatening FROM alert_triage t"
        " LEFT JOIN alerts a ON a.id = t.alert_id WHERE t.call_id = ?",
        (session.call_id,),
    )


async def owner_texts(store: Store, session: CallSession) -> list[str]:
    rows = await store.read_all(
        "SELECT body FROM outbox WHERE call_id = ? AND kind = 'emergency_alert'",
        (session.call_id,),
    )
    return [str(r[0]) for r in rows]


async def test_a_burst_pipe_happening_now_puts_the_script_ahead_of_the_words(store):
    session = await new_session(store)
    down = await passed_on(EmergencyTriage(session, queued), "A pipe just burst and it's flooding")
    assert [type(f) for f in down] == [TTSSpeakFrame, LLMMessagesAppendFrame, TranscriptionFrame]
    assert down[0].text == PROFILE.emergency.script and down[0].interruptible
    await asyncio.sleep(0.1)  # the alert is raised beside the call
    assert await triage_rows(store, session) == [("certain", 1, 0)]
    assert len(await owner_texts(store, session)) == len(PROFILE.owner.phones)


async def test_a_gas_smell_gets_the_safety_script_in_full(store):
    session = await new_session(store)
    down = await passed_on(EmergencyTriage(session, queued), "I can smell gas in the kitchen")
    assert isinstance(down[0], TTSSpeakFrame) and not down[0].interruptible
    assert down[0].text == PROFILE.emergency.life_threatening_script
    await asyncio.sleep(0.1)
    assert await triage_rows(store, session) == [("certain", 1, 1)]


@pytest.mark.parametrize(
    "text",
    [
        "How much do you charge for a burst pipe?",
        "No gas smell or anything, I just want the boiler serviced",
        "Last year we had a burst pipe, now I just need a new faucet",
    ],
)
async def test_everyday_questions_pass_untouched_and_alert_nobody(store, text):
    session = await new_session(store)
    down = await passed_on(EmergencyTriage(session, queued), text)
    assert [type(f) for f in down] == [TranscriptionFrame] and down[0].text == text
    await asyncio.sleep(CONFIRM_SECS + 0.2)
    assert await triage_rows(store, session) == [] and await owner_texts(store, session) == []
    assert not session.emergency


async def test_a_possible_emergency_asks_the_llm_to_confirm_before_alerting(store):
    session = await new_session(store)
    down = await passed_on(EmergencyTriage(session, queued), "The pipe under the sink broke.")
    assert [type(f) for f in down] == [LLMMessagesAppendFrame, TranscriptionFrame]
    assert "POSSIBLE EMERGENCY" in down[0].messages[0]["content"]
    assert await owner_texts(store, session) == []
    await asyncio.sleep(CONFIRM_SECS + 0.2)  # nobody answered: the owner is texted, not phoned
    assert await triage_rows(store, session) == [("unconfirmed", 0, 0)]
    assert "POSSIBLE EMERGENCY" in (await owner_texts(store, session))[0]


async def test_an_answer_heard_late_restarts_the_confirm_clock_once(store):
    session = await new_session(store)
    triage = EmergencyTriage(session, queued)
    triage.heard("The pipe under the sink broke.")
    await asyncio.sleep(CONFIRM_SECS * 0.75)
    session.bot_turns += 1  # the bot asked its question
    triage.heard("Um, I'm not sure.")  # the answer starts just before the first deadline
    await asyncio.sleep(CONFIRM_SECS * 0.5)
    assert await triage_rows(store, session) == [], "an answer being given is not cut short"
    triage.heard("let me look")  # more words do not push the deadline again
    await asyncio.sleep(CONFIRM_SECS * 0.5 + 0.15)
    assert await triage_rows(store, session) == [("unconfirmed", 0, 0)]


async def answered(session: CallSession, triage: EmergencyTriage, answer: str) -> None:
    """A possible emergency, the bot's question, then the caller's whole answer turn."""
    triage.heard("The pipe under the sink broke.")
    session.caller_turns += 1
    triage.caller_turn_ended()
    session.bot_turns += 1
    triage.heard(answer)
    session.caller_turns += 1
    triage.caller_turn_ended()


async def test_after_the_answer_the_llm_has_its_stall_time_to_decide(store):
    session = await new_session(store)
    triage = EmergencyTriage(session, queued)
    await answered(session, triage, "Um, I'm not sure.")
    await asyncio.sleep(STALL_SECS + 0.15)  # well before the confirm clock would have run out
    assert await triage_rows(store, session) == [("unconfirmed", 0, 0)]


async def test_a_confirmation_within_the_stall_time_phones_the_owner(store):
    session = await new_session(store)
    triage = EmergencyTriage(session, queued)
    await answered(session, triage, "Um, I think so.")
    await asyncio.sleep(STALL_SECS * 0.5)
    assert await triage.flag("water coming in", life_threatening=False)
    await asyncio.sleep(CONFIRM_SECS + 0.1)
    assert await triage_rows(store, session) == [("confirmed", 1, 0)]
    assert len(await owner_texts(store, session)) == len(PROFILE.owner.phones)


async def test_not_an_emergency_is_kept_for_review_and_alerts_nobody(store):
    session = await new_session(store)
    triage = EmergencyTriage(session, queued)
    triage.heard("The pipe under the sink broke.")
    assert await triage.dismiss("it happened last year")
    await asyncio.sleep(CONFIRM_SECS + 0.2)
    assert await triage_rows(store, session) == [("dismissed", 0, None)]
    assert await owner_texts(store, session) == []
