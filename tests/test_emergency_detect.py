"""Emergency triage (bot.triage): word forms, cues that something is not happening now, outcomes."""

import pytest

from bot.config import DEFAULT_PROFILE
from bot.profile import load_profile
from bot.triage import Outcome, assess, confirm_question
from tests.emergency_eval import files, load, score

PLUMBING = load_profile(DEFAULT_PROFILE)
DENTAL = load_profile(DEFAULT_PROFILE.parent / "riverside_dental.yaml")
CERTAIN, POSSIBLE, NONE = Outcome.CERTAIN, Outcome.POSSIBLE, Outcome.NONE


def plumbing(text: str):
    return assess(text, PLUMBING.emergency, kind="plumbing")


def dental(text: str):
    return assess(text, DENTAL.emergency, kind="dental")


@pytest.mark.parametrize(
    ("said", "outcome", "life"),
    [
        ("Hi, I've got a BURST PIPE in the basement!", CERTAIN, False),
        ("The basement is flooding, water everywhere.", CERTAIN, False),
        ("We have no water at all since this morning", CERTAIN, False),
        ("there's sewage coming up in the shower", CERTAIN, False),
        ("I think I smell gas near the water heater", CERTAIN, True),
        ("it smells like gas and the pipe burst", CERTAIN, True),
        # word forms and synonyms beyond the profile's phrases
        ("The pipe in the wall is bursting", CERTAIN, False),
        ("the hose split and it's gushing", CERTAIN, False),
        ("water's spraying everywhere", CERTAIN, False),
        ("the sink is overflowing and won't stop", CERTAIN, False),
        ("the drains are backing up", CERTAIN, False),
        ("my boiler is leaking all over the floor", CERTAIN, False),
        ("it's coming through the ceiling", CERTAIN, False),
        ("the pipe broke", POSSIBLE, False),
        # negation does not reach across "and": the spraying is real
        ("The valve won't turn and the pipe is still spraying.", CERTAIN, False),
        # "a bit" never talks the detector out of danger to life
        ("I can smell gas and I feel a bit dizzy", CERTAIN, True),
        ("We fixed the flooding ourselves but now the pipe is leaking again", POSSIBLE, False),
    ],
)
def test_plumbing_emergencies(said, outcome, life):
    found = plumbing(said)
    assert (found.outcome, found.life_threatening) == (outcome, life), found


@pytest.mark.parametrize(
    "said",
    [
        "How much do you charge for a burst pipe?",  # price
        "Do you handle flooding?",  # service question
        "Last year we had a burst pipe, now I just need a new faucet.",  # past
        "The toilet overflowed yesterday but it's fine now.",  # past, resolved
        "My neighbour had sewage backup last month.",  # someone else
        "No gas smell or anything, I just want the boiler serviced.",  # negated life
        "I don't smell gas, the boiler is just noisy.",  # negated life
        "The pipe isn't leaking anymore.",  # negated
        "If my pipe bursts, can you come at night?",  # hypothetical
        "Just asking, what if the basement floods?",  # just asking
        "Can you check my carbon monoxide detector when you come for the sink?",  # service
        "I'd like a quote for a new boiler",
        "the pipeburst company",
        "Is there water parking",
        "Is there a call-out charge if there's no water damage?",
    ],
)
def test_everyday_mentions_are_not_emergencies(said):
    found = plumbing(said)
    assert found.outcome is NONE and not found.life_threatening, found


@pytest.mark.parametrize(
    ("said", "outcome", "life"),
    [
        ("My face is swollen since last night", CERTAIN, False),
        ("my tooth got knocked out playing rugby", CERTAIN, False),
        ("the bleeding won't stop after my extraction", CERTAIN, False),
        ("swollen face and I'm having difficulty breathing", CERTAIN, True),
        ("I can't swallow and my jaw is swollen", CERTAIN, True),
        ("My tooth is broken", POSSIBLE, False),
        ("I don't have any trouble breathing, it's just a sore gum", NONE, False),
        ("I had difficulty breathing with the anaesthetic last time", NONE, False),
        ("My gums bleed a bit when I brush", NONE, False),
        ("Do you see people with knocked out teeth?", NONE, False),
    ],
)
def test_dental(said, outcome, life):
    found = dental(said)
    assert (found.outcome, found.life_threatening) == (outcome, life), found


def test_the_assessment_names_the_sentence_and_the_cues():
    found = plumbing("Hi there. No gas smell. But the pipe just burst and water is everywhere!")
    assert found.outcome is CERTAIN and not found.life_threatening
    assert found.heard == "But the pipe just burst and water is everywhere!"
    assert any("negated" in cue for cue in found.cues), found.cues
    ruled_out = plumbing("How much do you charge for a burst pipe?")
    assert any("question" in cue for cue in ruled_out.cues), ruled_out.cues


def test_only_english_is_supported_and_the_error_says_so():
    with pytest.raises(ValueError, match="fr"):
        assess("le tuyau a éclaté", PLUMBING.emergency, kind="plumbing", language="fr")
    assert confirm_question("plumbing") == "Is water coming in right now?"


@pytest.mark.parametrize("path", files(heldout=False), ids=lambda p: p.stem)
def test_labelled_sentences_meet_the_issue_thresholds(path):
    """The issue's bar on the hand-labelled sets (print them: `python -m tests.emergency_eval`)."""
    s = score(path)
    assert s.false_alarm_rate <= 0.03, s.false_alarms
    assert s.life_missed == [], s.life_missed
    assert s.wrong_evacuation == [], s.wrong_evacuation
    assert s.caught_rate >= 0.98, s.missed


def test_each_shipped_profile_has_at_least_150_labelled_sentences():
    totals: dict[str, int] = {}
    for path in files(heldout=True):
        profile, rows = load(path)
        totals[profile] = totals.get(profile, 0) + len(rows)
    assert set(totals) == {"bristol_plumbing.yaml", "riverside_dental.yaml"}
    assert min(totals.values()) >= 150, totals
