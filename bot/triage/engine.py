"""The language-independent part of emergency triage: patterns, segments, cues, the decision.

A language supplies `LanguageRules`: how to turn text into sentences of tokens, where a sentence
splits into segments ("but", "now"...), the word classes and patterns of each trade's concepts,
and the cue patterns (negation, questions, past, other people, hypotheticals, "right now"...).

Pattern mini-language (space separated items):
    word      the token itself           word*    any token starting with "word"
    {class}   any alternative of a class (alternatives may be several words)
    ~N        up to N other tokens before the next item
    !{class}  the next token is NOT in the class (zero width); also !word
    {ING}     a verb form ending in -ing (built in)
Everything is deterministic and pure: same text, same answer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.profile import Emergency


class Outcome(enum.StrEnum):
    """How sure the detector is that something is happening now."""

    NONE = "none"
    POSSIBLE = "possible"
    CERTAIN = "certain"


@dataclass(frozen=True)
class Assessment:
    """What was heard and what it means; `heard` is the sentence that decided the outcome."""

    outcome: Outcome
    life_threatening: bool = False
    concept: str = ""
    heard: str = ""
    cues: tuple[str, ...] = ()

    @property
    def is_emergency(self) -> bool:
        """Whether the detector found anything, possible or certain."""
        return self.outcome is not Outcome.NONE


# ---- patterns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    kind: str  # "words" | "gap" | "not"
    alts: tuple[tuple[str, ...], ...] = ()
    n: int = 0


class Pattern:
    """A compiled pattern of the mini-language above."""

    def __init__(self, source: str, classes: dict[str, tuple[tuple[str, ...], ...]]) -> None:
        self.source = source
        items: list[_Item] = []
        for raw in source.split():
            if raw.startswith("~"):
                items.append(_Item("gap", n=int(raw[1:])))
                continue
            negative = raw.startswith("!")
            word = raw[1:] if negative else raw
            if word.startswith("{") and word.endswith("}"):
                name = word[1:-1]
                if name == "ING":
                    alts: tuple[tuple[str, ...], ...] = (("{ING}",),)
                else:
                    alts = classes[name]  # KeyError names the missing class at import
            else:
                alts = ((word,),)
            items.append(_Item("not" if negative else "words", alts))
        if not items or items[0].kind != "words":
            raise ValueError(f"pattern must start with words: {source!r}")
        self._items = tuple(items)
        # For a quick "cannot match" test: each words item needs one of these first tokens in the
        # sentence (None when an alternative starts with a wildcard, which any token may match).
        self._needs = tuple(
            None
            if any(alt[0].endswith("*") or alt[0] == "{ING}" for alt in item.alts)
            else frozenset(alt[0] for alt in item.alts)
            for item in items
            if item.kind == "words"
        )
        self._first = self._needs[0]

    def find(
        self, tokens: list[str], ing_stop: frozenset[str]
    ) -> list[tuple[int, int, tuple[int, ...]]]:
        """Every (start, end, used token indices) where the pattern matches, leftmost first."""
        present = set(tokens)
        if any(need is not None and need.isdisjoint(present) for need in self._needs):
            return []
        found = []
        for start in range(len(tokens)):
            if self._first is not None and tokens[start] not in self._first:
                continue
            hit = self._at(0, start, 0, tokens, ing_stop)
            if hit is not None:
                end, used = hit
                found.append((used[0], end, tuple(used)))
        return found

    def _at(
        self, k: int, pos: int, gap: int, tokens: list[str], ing_stop: frozenset[str]
    ) -> tuple[int, list[int]] | None:
        if k == len(self._items):
            return pos, []
        item = self._items[k]
        if item.kind == "gap":
            return self._at(k + 1, pos, item.n, tokens, ing_stop)
        if item.kind == "not":
            if pos < len(tokens) and any(_alt_at(alt, pos, tokens, ing_stop) for alt in item.alts):
                return None
            return self._at(k + 1, pos, gap, tokens, ing_stop)
        for skip in range(gap + 1):
            p = pos + skip
            if p >= len(tokens):
                break
            if skip and tokens[p - 1] in _HARD_STOPS:
                break  # gaps never cross a sentence end
            for alt in item.alts:
                if _alt_at(alt, p, tokens, ing_stop):
                    rest = self._at(k + 1, p + len(alt), 0, tokens, ing_stop)
                    if rest is not None:
                        return rest[0], list(range(p, p + len(alt))) + rest[1]
        return None


_HARD_STOPS = frozenset({".", "?", "!", ";"})


def _alt_at(alt: tuple[str, ...], p: int, tokens: list[str], ing_stop: frozenset[str]) -> bool:
    if p + len(alt) > len(tokens):
        return False
    for offset, want in enumerate(alt):
        got = tokens[p + offset]
        if want == "{ING}":
            if not (got.endswith("ing") and len(got) > 4 and got not in ing_stop):
                return False
        elif want.endswith("*"):
            if not got.startswith(want[:-1]):
                return False
        elif got != want:
            return False
    return True


def compile_classes(raw: dict[str, Iterable[str]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Word classes: each alternative split into tokens, longest first (so "came apart" wins)."""
    return {
        name: tuple(sorted((tuple(a.split()) for a in alts), key=len, reverse=True))
        for name, alts in raw.items()
    }


@dataclass(frozen=True)
class Concept:
    """Something that can be an emergency. strength: "life" | "strong" | "weak".

    A strong concept is CERTAIN when the words say it is happening now or how bad it is, else
    POSSIBLE; a weak one is at most POSSIBLE; a life one is CERTAIN unless a cue rules it out.
    """

    name: str
    strength: str
    patterns: tuple[Pattern, ...]
    intense: bool = False  # bad enough by itself to be certain (flooding, knocked-out tooth)


@dataclass(frozen=True)
class Cue:
    """Words that change what a concept means; `blockers` cancel a match they overlap."""

    name: str
    patterns: tuple[Pattern, ...]
    blockers: tuple[Pattern, ...] = ()


@dataclass(frozen=True)
class LanguageRules:
    """Everything one language needs. See `bot.triage.english` for the English instance."""

    code: str
    sentences: Callable[[str], list[tuple[str, list[str]]]]  # text -> [(original, tokens)]
    split_words: frozenset[str]  # a segment ends before these (dropped): "but", "however"
    split_pairs: frozenset[tuple[str, str]]  # and these two-token splits: ("and", "now")
    negators: frozenset[str]
    negation_window: int
    scope_ends: frozenset[str]  # negation does not reach back past these ("," "and")
    not_negating: tuple[Pattern, ...]  # "won't stop", "can't breathe": the "not" is the emergency
    masks: tuple[Pattern, ...]  # phrases that never count as concepts ("no water damage")
    ing_stop: frozenset[str]  # -ing words that are not verbs (ceiling, morning, filling)
    lexicons: dict[str, tuple[Concept, ...]]  # trade -> concepts; "*" for every trade
    cues: dict[str, Cue]  # see CUE_NAMES
    seed: Callable[[str, str], Pattern]  # (profile phrase, strength) -> pattern
    confirm_questions: dict[str, str] = field(default_factory=dict)


# Cue names a language must define.
SEGMENT_SUPPRESSORS = ("hypothetical", "minor")  # rule a concept out, whatever else is said
OVERRIDABLE = ("question", "past", "reported")  # rule it out unless it is said to be happening now
LIFE_IGNORES = ("minor",)  # cues too weak to rule out danger to life
CUE_NAMES = (*SEGMENT_SUPPRESSORS, *OVERRIDABLE, "resolved", "utterance", "now", "intense")


# ---- the decision --------------------------------------------------------------------------------


@dataclass
class _Segment:
    sentence: str
    tokens: list[str]
    cues: set[str]


def _segments(lang: LanguageRules, text: str) -> list[_Segment]:
    out: list[_Segment] = []
    for original, tokens in lang.sentences(text):
        current: list[str] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            pair = (tok, tokens[i + 1]) if i + 1 < len(tokens) else None
            if pair in lang.split_pairs:
                out.append(_Segment(original, current, set()))
                current, i = [], i + 2
                continue
            if tok in lang.split_words and current:
                out.append(_Segment(original, current, set()))
                current, i = [], i + 1
                continue
            current.append(tok)
            i += 1
        out.append(_Segment(original, current, set()))
    return [s for s in out if s.tokens]


def _cue_hits(lang: LanguageRules, cue: Cue, tokens: list[str]) -> bool:
    blocked: set[int] = set()
    for blocker in cue.blockers:
        for _, _, used in blocker.find(tokens, lang.ing_stop):
            blocked.update(used)
    for pattern in cue.patterns:
        for _, _, used in pattern.find(tokens, lang.ing_stop):
            if not blocked.intersection(used):
                return True
    return False


def _covered(patterns: Iterable[Pattern], tokens: list[str], lang: LanguageRules) -> set[int]:
    covered: set[int] = set()
    for pattern in patterns:
        for _, _, used in pattern.find(tokens, lang.ing_stop):
            covered.update(used)
    return covered


def _negated(
    lang: LanguageRules,
    tokens: list[str],
    start: int,
    end: int,
    used: tuple[int, ...],
    exempt: set[int],
) -> bool:
    chunk_start = start
    while (
        chunk_start > 0
        and tokens[chunk_start - 1] not in lang.scope_ends
        and start - chunk_start < lang.negation_window
    ):
        chunk_start -= 1
    before = range(chunk_start, start)
    inside = (i for i in range(start, end) if i not in used)
    return any(tokens[i] in lang.negators and i not in exempt for i in (*before, *inside))


def assess_with(lang: LanguageRules, text: str, rules: Emergency, kind: str) -> Assessment:
    """Triage `text`: the most serious concept that no cue rules out, with the cues that fired."""
    concepts = (
        *lang.lexicons.get(kind, ()),
        *lang.lexicons.get("*", ()),
        *_seed_concepts(lang, rules),
    )
    segments = _segments(lang, text)
    whole = [t for s in segments for t in s.tokens]
    utterance_cue = _cue_hits(lang, lang.cues["utterance"], whole)
    for seg in segments:
        for name in (*SEGMENT_SUPPRESSORS, *OVERRIDABLE, "resolved", "now", "intense"):
            if _cue_hits(lang, lang.cues[name], seg.tokens):
                seg.cues.add(name)

    best: Assessment = Assessment(Outcome.NONE)
    ruled_out: list[str] = []
    for index, seg in enumerate(segments):
        masked = _covered(lang.masks, seg.tokens, lang)
        exempt = _covered(lang.not_negating, seg.tokens, lang)
        resolved_later = any("resolved" in later.cues for later in segments[index:])
        for concept in concepts:
            for pattern in concept.patterns:
                for start, end, used in pattern.find(seg.tokens, lang.ing_stop):
                    if masked.intersection(used):
                        continue
                    reason = _ruled_out(
                        lang,
                        seg,
                        start,
                        end,
                        used,
                        exempt,
                        utterance_cue,
                        resolved_later,
                        concept.strength == "life",
                    )
                    if reason:
                        ruled_out.append(f"{concept.name}: {reason}")
                        continue
                    found = _grade(concept, seg)
                    if _rank(found) > _rank(best):
                        best = found
    if best.outcome is Outcome.NONE:
        return Assessment(Outcome.NONE, cues=tuple(dict.fromkeys(ruled_out)))
    return Assessment(
        best.outcome,
        best.life_threatening,
        best.concept,
        best.heard,
        tuple(dict.fromkeys((*best.cues, *ruled_out))),
    )


def _ruled_out(
    lang: LanguageRules,
    seg: _Segment,
    start: int,
    end: int,
    used: tuple[int, ...],
    exempt: set[int],
    utterance_cue: bool,
    resolved_later: bool,
    life: bool,
) -> str:
    """Why this concept is not happening now, or "".

    Danger to life is only ruled out by words that say so plainly (negation, a question, the
    past, someone else, "if"): "a bit" or "gone down" never talk the detector out of it.
    """
    if _negated(lang, seg.tokens, start, end, used, exempt):
        return "negated"
    for name in SEGMENT_SUPPRESSORS:
        if name in seg.cues and not (life and name in LIFE_IGNORES):
            return name
    if utterance_cue:
        return "just asking"
    if "now" in seg.cues:
        return ""
    for name in OVERRIDABLE:
        if name in seg.cues:
            return name
    if resolved_later and not life:
        return "resolved"
    return ""


def _grade(concept: Concept, seg: _Segment) -> Assessment:
    support = tuple(sorted(seg.cues & {"now", "intense"}))
    cues = (f"{concept.name}: {', '.join(support) or 'mentioned'}",)
    if concept.strength == "life":
        return Assessment(Outcome.CERTAIN, True, concept.name, seg.sentence, cues)
    if concept.strength == "strong" and (concept.intense or support):
        return Assessment(Outcome.CERTAIN, False, concept.name, seg.sentence, cues)
    return Assessment(Outcome.POSSIBLE, False, concept.name, seg.sentence, cues)


def _rank(a: Assessment) -> int:
    return {Outcome.NONE: 0, Outcome.POSSIBLE: 1, Outcome.CERTAIN: 2}[
        a.outcome
    ] + 2 * a.life_threatening


_SEED_CACHE: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[Concept, ...]] = {}


def _seed_concepts(lang: LanguageRules, rules: Emergency) -> tuple[Concept, ...]:
    key = (lang.code, tuple(rules.keywords), tuple(rules.life_threatening))
    if key not in _SEED_CACHE:
        life = set(rules.life_threatening)
        seeds = [Concept(p, "life", (lang.seed(p, "life"),)) for p in rules.life_threatening] + [
            Concept(p, "strong", (lang.seed(p, "strong"),)) for p in rules.keywords if p not in life
        ]
        _SEED_CACHE[key] = tuple(seeds)
    return _SEED_CACHE[key]
