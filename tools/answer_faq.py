"""answer_faq: look up the business's own knowledge base; nothing else may be used to answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bot.call_session import CallSession
from tools.base import Tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=300),
        Field(description="The caller's question, in a few words."),
    ]


async def handle(session: CallSession, args: _Args) -> dict[str, Any]:
    """Return the passages relevant to the caller's question, or say there are none."""
    hits = session.business.knowledge.search(args.question)
    if not hits:
        return {
            "ok": False,
            "found": False,
            "error": (
                "The business's information does not cover this. Tell the caller you don't know "
                "and offer to take a message for the team."
            ),
        }
    return {
        "ok": True,
        "found": True,
        "passages": [h.passage.text for h in hits],
        "instructions": "Answer only from these passages, briefly, in your own words.",
    }


TOOL = Tool(
    name="answer_faq",
    description=(
        "Look up the business's own information (prices, hours, service area, insurance, "
        "parking, policies) to answer a caller's question. Always use this before answering such "
        "questions; never answer them from general knowledge."
    ),
    handler=handle,
    args=_Args,
)
