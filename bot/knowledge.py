"""The business's knowledge base: retrieval over its FAQ and documents. Pure and deterministic.

Passages are the profile's FAQ entries (question plus answer) and the sentences of its documents.
Ranking is BM25 over lightly stemmed words with a small table of phone-call synonyms ("how much" →
price). A question that shares no meaningful word with any passage retrieves nothing, and the bot
then says it does not know: answers come only from what was retrieved.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from bot.profile import BusinessProfile

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
STOPWORDS = frozenset(
    """a an and are as at be but by can could do does for from have how i if in is it its me my
    of on or our please so that the their there this to us we what when where which who will with
    you your yours would any about tell know want need like just get much many""".split()
)
# Words callers use for the same idea; each maps to the word the documents are likely to use.
SYNONYMS = {
    "cost": "price",
    "costs": "price",
    "charge": "price",
    "charges": "price",
    "fee": "price",
    "fees": "price",
    "pay": "payment",
    "card": "payment",
    "cards": "payment",
    "cash": "payment",
    "open": "hours",
    "close": "hours",
    "closed": "hours",
    "opening": "hours",
    "time": "hours",
    "park": "parking",
    "car": "parking",
    "insured": "insurance",
    "license": "licensed",
    "licence": "licensed",
    "cover": "area",
    "serve": "area",
    "areas": "area",
    "town": "area",
    "towns": "area",
    "guarantee": "warranty",
    "guaranteed": "warranty",
    "quote": "estimate",
    "quotes": "estimate",
    "nhs": "nhs",
    "wheelchair": "accessible",
    "step": "accessible",
}


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content words of `text`, synonym-mapped and stemmed."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        out.append(_stem(SYNONYMS.get(word, word)))
    return out


@dataclass(frozen=True)
class Passage:
    """One retrievable piece of the knowledge base."""

    source: str  # "faq" or the document's title
    text: str


@dataclass(frozen=True)
class Hit:
    """A passage with its relevance score."""

    passage: Passage
    score: float


class KnowledgeBase:
    """BM25 index over one business's FAQ and documents."""

    def __init__(self, passages: list[Passage], *, k1: float = 1.4, b: float = 0.75) -> None:
        self._passages = passages
        self._docs = [Counter(terms(p.text)) for p in passages]
        self._lengths = [sum(d.values()) for d in self._docs]
        self._avg = (sum(self._lengths) / len(self._lengths)) if passages else 1.0
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        n = len(passages)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self._k1, self._b = k1, b

    @classmethod
    def from_profile(cls, profile: BusinessProfile) -> KnowledgeBase:
        """Index the profile's FAQ entries and document sentences."""
        passages = [Passage("faq", f"{e.question} {e.answer}") for e in profile.faq]
        for doc in profile.documents:
            for sentence in _SENTENCE.split(doc.text.strip()):
                if sentence:
                    passages.append(Passage(doc.title, f"{doc.title}: {sentence}"))
        return cls(passages)

    def search(self, question: str, *, limit: int = 3, min_score: float = 1.0) -> list[Hit]:
        """The best passages for `question`, strongest first; empty if nothing is relevant."""
        query = set(terms(question))
        hits = []
        for passage, doc, length in zip(self._passages, self._docs, self._lengths, strict=True):
            score = 0.0
            for term in query & doc.keys():
                tf = doc[term]
                norm = tf + self._k1 * (1 - self._b + self._b * length / self._avg)
                score += self._idf[term] * tf * (self._k1 + 1) / norm
            if score >= min_score:
                hits.append(Hit(passage, round(score, 3)))
        hits.sort(key=lambda h: (-h.score, h.passage.text))
        return hits[:limit]
