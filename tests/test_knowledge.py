"""FAQ retrieval: answers come from the business's own knowledge base, or not at all."""

import pytest

from bot.config import DEFAULT_PROFILE
from bot.knowledge import KnowledgeBase
from bot.profile import load_profile

PLUMBING = KnowledgeBase.from_profile(load_profile(DEFAULT_PROFILE))
DENTAL = KnowledgeBase.from_profile(load_profile(DEFAULT_PROFILE.parent / "riverside_dental.yaml"))


@pytest.mark.parametrize(
    ("kb", "question", "expected"),
    [
        (PLUMBING, "How much do you charge to come out?", "89 dollars"),
        (PLUMBING, "What does a tankless water heater cost?", "3,200 dollars"),
        (PLUMBING, "Do you cover Southington?", "Southington"),
        (PLUMBING, "Are you licensed and insured?", "P1-0284511"),
        (PLUMBING, "Can I pay by card?", "credit cards"),
        (PLUMBING, "Is there a guarantee on the work?", "one year"),
        (DENTAL, "Is there parking near you?", "Upper Ground"),
        (DENTAL, "Do you take Bupa insurance?", "Bupa"),
        (DENTAL, "How much is a check-up?", "65 pounds"),
        (DENTAL, "Can I get in with a wheelchair?", "step-free"),
    ],
)
def test_answers_come_from_the_knowledge_base(kb, question, expected):
    hits = kb.search(question)
    assert hits, question
    assert any(expected in h.passage.text for h in hits[:2]), [h.passage.text for h in hits]


@pytest.mark.parametrize(
    "question",
    ["Do you sell pizza?", "What's the weather tomorrow?", "Who won the football?", "hello"],
)
def test_unknown_questions_retrieve_nothing(question):
    assert PLUMBING.search(question) == []
    assert DENTAL.search(question) == []


def test_retrieval_is_deterministic():
    first = [(h.passage.text, h.score) for h in PLUMBING.search("drain cleaning price")]
    assert first == [(h.passage.text, h.score) for h in PLUMBING.search("drain cleaning price")]
