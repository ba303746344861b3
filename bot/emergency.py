"""Deterministic emergency detection in what the caller says. Pure functions.

It runs on every caller transcript, whatever the LLM does. Matching is on whole words after
normalising case, punctuation and apostrophes, so "Burst-pipe!" matches "burst pipe". It errs
towards alerting: "no gas smell" still matches "gas smell", because a false alarm costs the owner
a text while a missed gas leak costs far more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.profile import Emergency

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, padded so phrases match on word edges."""
    return " " + _NON_WORD.sub(" ", text.lower().replace("'", "")).strip() + " "


@dataclass(frozen=True)
class EmergencyMatch:
    """What was heard, and whether it is a danger to life."""

    phrase: str
    life_threatening: bool


def detect(text: str, rules: Emergency) -> EmergencyMatch | None:
    """The first emergency phrase in `text`, life-threatening ones first; None if there is none."""
    said = normalise(text)
    for phrase in rules.life_threatening:
        if normalise(phrase) in said:
            return EmergencyMatch(phrase, True)
    for phrase in rules.keywords:
        if normalise(phrase) in said:
            return EmergencyMatch(phrase, phrase in rules.life_threatening)
    return None
