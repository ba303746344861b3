"""After each call: did the receptionist claim a booking, move or cancellation that did not happen?

The stored bot turns (what the caller actually heard) are split into clauses. A clause claims an
action when it states it as done:
- "booked": booked / scheduled (or "confirmed" about an appointment or booking);
- "cancelled": cancelled / canceled;
- "moved": moved / rescheduled.
Questions, and clauses that hedge or negate ("couldn't", "not", "if", "would", "will", "the
office will confirm", "request"), are not claims. Each claim must follow a successful tool call
of the matching kind in the same call (`book_appointment` with status booked, and so on); one
that does not is a mismatch: the call gets the flag `claim_mismatch` and an audit row says which
turns. Nothing here raises into the call's shutdown: `run_safely` catches and logs.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass

from loguru import logger

from bot.storage import Store

FLAG = "claim_mismatch"
TIMEOUT_SECS = 5.0

_CLAIMS: dict[str, re.Pattern[str]] = {
    "booked": re.compile(
        r"\b(booked|scheduled)\b|\b(appointment|booking|visit)\b.*\bconfirmed\b"
        r"|\bconfirmed\b.*\b(appointment|booking|visit)\b"
    ),
    "cancelled": re.compile(r"\bcancell?ed\b"),
    "moved": re.compile(r"\b(moved|rescheduled)\b"),
}
# Which tool results make each claim true.
_PROOF: dict[str, tuple[str, frozenset[str]]] = {
    "booked": ("book_appointment", frozenset({"booked", "already_booked"})),
    "cancelled": ("cancel_appointment", frozenset({"cancelled", "already_cancelled"})),
    "moved": ("reschedule_appointment", frozenset({"moved"})),
}
_HEDGE = re.compile(
    r"\b(not|no|never|unable|cannot|can't|couldn't|wasn't|isn't|haven't|hasn't|didn't|won't|"
    r"if|once|when|whether|would|could|should|shall|will|want|like|let me|going to|try|trying|"
    r"sorry|pending|request|ask|asked|able)\b|n't\b"
)
_CLAUSES = re.compile(r"[.!;,:\n]|\b(?:and|but|so|then)\b")


@dataclass(frozen=True)
class Claim:
    """One clause in a bot turn that states an action as done."""

    kind: str  # booked | cancelled | moved
    turn_seq: int
    at: str  # when the turn ended (UTC ISO)


@dataclass(frozen=True)
class ClaimsReport:
    """Every claim in a call, and the ones no successful tool call backs."""

    claims: list[Claim]
    mismatches: list[Claim]


def claims_in(text: str) -> set[str]:
    """The kinds of action a bot turn states as done."""
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+", text.lower().replace("’", "'")):
        if sentence.rstrip().endswith("?"):
            continue
        for clause in _CLAUSES.split(sentence):
            if not clause or _HEDGE.search(clause):
                continue
            found.update(kind for kind, pattern in _CLAIMS.items() if pattern.search(clause))
    return found


async def audit_claims(store: Store, call_id: str) -> ClaimsReport:
    """Compare the call's bot turns with its successful tool calls; flag mismatches."""
    turns = await store.read_all(
        "SELECT seq, text, at FROM turns WHERE call_id = ? AND role = 'bot' ORDER BY seq",
        (call_id,),
    )
    tools = await store.read_all(
        "SELECT name, result, started_at FROM tool_calls WHERE call_id = ? AND ok = 1",
        (call_id,),
    )
    done: dict[str, list[str]] = {}
    for name, result, started_at in tools:
        try:
            status = (json.loads(result or "{}") or {}).get("status")
        except (ValueError, AttributeError):
            continue
        for kind, (tool, statuses) in _PROOF.items():
            if name == tool and status in statuses:
                done.setdefault(kind, []).append(str(started_at))
    claims = [
        Claim(kind, int(seq), str(at))
        for seq, text, at in turns
        for kind in sorted(claims_in(text))
    ]
    mismatches = [c for c in claims if not any(t <= c.at for t in done.get(c.kind, []))]
    if mismatches:
        await store.add_call_flag(call_id, FLAG)
        await store.audit(
            "claims_audit",
            "claims.mismatch",
            call_id,
            {"mismatches": [{"kind": c.kind, "turn": c.turn_seq} for c in mismatches]},
        )
    elif claims:
        await store.audit("claims_audit", "claims.verified", call_id, {"claims": len(claims)})
    return ClaimsReport(claims, mismatches)


async def run_safely(store: Store, call_id: str) -> None:
    """`audit_claims` for the end of a call: bounded in time, never raises."""
    try:
        report = await asyncio.wait_for(audit_claims(store, call_id), TIMEOUT_SECS)
    except Exception as exc:  # the call record must close whatever happens here
        logger.error("claims audit for call {} failed: {}", call_id, type(exc).__name__)
        return
    if report.mismatches:
        logger.warning(
            "call {}: {} claim(s) not backed by a tool call", call_id, len(report.mismatches)
        )
