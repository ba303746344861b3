"""Per-turn latency from Pipecat's own measurements, stored with the call and shown live.

For each reply, `UserBotLatencyObserver` measures from the moment the caller fell silent (or the
client connected, for the greeting) to the bot's first audio, and breaks it into contributions
(VAD silence, end-of-turn wait, STT, LLM first token, TTS first audio). This module turns that into
one flat record per turn.
"""

from __future__ import annotations

from typing import Any

from pipecat.observers.user_bot_latency_observer import LatencyBreakdown, UserBotLatencyObserver

from bot.call_session import CallSession
from bot.metrics import GREETING_LATENCY, TURN_LATENCY


def _stage(processor: str) -> str:
    name = processor.lower()
    for key, stage in (("stt", "stt"), ("llm", "llm"), ("tts", "tts")):
        if key in name:
            return stage
    return name


def summarize(breakdown: LatencyBreakdown) -> dict[str, Any]:
    """Flatten a breakdown into milliseconds per stage (what the page and the database keep)."""
    ttfb = {
        f"{_stage(m.processor)}_ttfb_ms": round(m.duration_secs * 1000, 1) for m in breakdown.ttfb
    }
    return {
        "measured_from": str(breakdown.measured_from) if breakdown.measured_from else None,
        "total_ms": round(breakdown.total_secs * 1000, 1),
        "turn_wait_ms": round(breakdown.user_turn_secs * 1000, 1)
        if breakdown.user_turn_secs is not None
        else None,
        **ttfb,
        "contributions": [
            {"key": c.key, "label": c.label, "ms": round(c.duration_secs * 1000, 1)}
            for c in breakdown.contributions
        ],
    }


def latency_observer(session: CallSession) -> UserBotLatencyObserver:
    """An observer that stores each turn's latency and emits it as a call event."""
    observer = UserBotLatencyObserver()

    @observer.event_handler("on_latency_breakdown")
    async def _breakdown(obs, breakdown: LatencyBreakdown) -> None:
        summary = summarize(breakdown)
        histogram = TURN_LATENCY if breakdown.measured_from == "user_silence" else GREETING_LATENCY
        histogram.observe(breakdown.total_secs)
        await session.store.add_turn_latency(session.call_id, summary)
        await session.emit("latency", summary)

    return observer
