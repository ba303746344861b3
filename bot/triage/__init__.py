"""Emergency triage of what a caller says: deterministic, pure, one language module per language.

`assess(text, rules, kind=..., language=...)` reads one transcript and answers NONE, POSSIBLE or
CERTAIN, with the sentence that decided it and the cues that fired. Invariants:
- the same words always give the same answer (no model, no randomness, no clock);
- a life-threatening concept that is not negated, past, reported, asked about or hypothetical is
  always CERTAIN and `life_threatening`; a negated, past or hypothetical one never is;
- an everyday mention (a price question, something that happened last year, to a neighbour, or
  "if it ever happens") is NONE, whatever words it uses.

How a language reads a sentence lives in its own module (`bot.triage.english`); adding French means
adding `bot.triage.french` with the same `LanguageRules` and one line in `_LANGUAGES`.
"""

from __future__ import annotations

from bot.profile import Emergency
from bot.triage import english
from bot.triage.engine import Assessment, LanguageRules, Outcome, assess_with

_LANGUAGES: dict[str, LanguageRules] = {"en": english.RULES}

SUPPORTED_LANGUAGES = tuple(_LANGUAGES)


def assess(text: str, rules: Emergency, *, kind: str, language: str = "en") -> Assessment:
    """Triage one caller transcript against a business's emergency rules.

    `kind` is the profile's trade ("plumbing", "dental"): it picks the built-in lexicon; the
    profile's own phrases are always added as seeds. Raises ValueError for an unsupported language.
    """
    lang = _LANGUAGES.get(language)
    if lang is None:
        raise ValueError(
            f"emergency triage does not support language {language!r}; "
            f"supported: {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return assess_with(lang, text, rules, kind)


def confirm_question(kind: str, language: str = "en") -> str:
    """The one short question that confirms a possible emergency for this trade."""
    lang = _LANGUAGES.get(language, english.RULES)
    return lang.confirm_questions.get(kind, lang.confirm_questions["*"])


__all__ = ["SUPPORTED_LANGUAGES", "Assessment", "Outcome", "assess", "confirm_question"]
