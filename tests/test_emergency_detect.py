"""The emergency detector: profile phrases in free speech, life-threatening ones first."""

import pytest

from bot.config import DEFAULT_PROFILE
from bot.emergency import detect
from bot.profile import load_profile

PLUMBING = load_profile(DEFAULT_PROFILE).emergency
DENTAL = load_profile(DEFAULT_PROFILE.parent / "riverside_dental.yaml").emergency


@pytest.mark.parametrize(
    ("said", "phrase", "life"),
    [
        ("Hi, I've got a BURST PIPE in the basement!", "burst pipe", False),
        ("The basement is flooding, water everywhere.", "flooding", False),
        ("We have no water at all since this morning", "no water", False),
        ("there's sewage coming up in the shower", "sewage coming up", False),
        ("I think I smell gas near the water heater", "smell gas", True),
        ("it smells like gas and the pipe burst", "smells like gas", True),
    ],
)
def test_plumbing_emergencies(said, phrase, life):
    match = detect(said, PLUMBING)
    assert match is not None and (match.phrase, match.life_threatening) == (phrase, life)


@pytest.mark.parametrize(
    ("said", "life"),
    [
        ("My face is swollen since last night", False),
        ("my tooth got knocked out playing rugby", False),
        ("the bleeding won't stop after my extraction", False),
        ("swollen face and I'm having difficulty breathing", True),
    ],
)
def test_dental_emergencies(said, life):
    match = detect(said, DENTAL)
    assert match is not None and match.life_threatening is life


@pytest.mark.parametrize(
    "said",
    ["I'd like to book a check-up", "My kitchen sink drips a little", "Is there water parking",
     "the pipeburst company", "I need a quote for a new boiler"],
)
def test_routine_calls_are_not_emergencies(said):
    assert detect(said, PLUMBING) is None
    assert detect(said, DENTAL) is None
