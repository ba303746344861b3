"""smart-turn started inside the VAD stop window gives the verdict the late inference would."""

from __future__ import annotations

import numpy as np
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from pipelines.pipecat_internals.shared_models import (
    SharedSileroVADAnalyzer,
    SharedSmartTurnAnalyzer,
)
from pipelines.pipecat_internals.speculative_turn import SpeculativeSmartTurn
from tests import audio
from tests.fakes.dsp import ulaw_to_pcm16

CHUNK = 320  # 20 ms of 8 kHz int16
SILENCE = b"\x00\x00" * 160


async def _feed(vad, turn, pcm: bytes, speaking: bool) -> tuple[bool, list]:
    """What Pipecat's user aggregator does per frame: VAD first, then the turn analyzer.

    Returns whether the caller still counts as speaking, and each end-of-turn verdict the VAD stop
    asked for.
    """
    verdicts = []
    for i in range(0, len(pcm), CHUNK):
        chunk = pcm[i : i + CHUNK]
        state = await vad.analyze_audio(chunk)
        if state == VADState.SPEAKING:
            speaking = True
        turn.append_audio(chunk, speaking)
        if speaking and state == VADState.QUIET:  # VADUserStoppedSpeakingFrame
            speaking = False
            verdicts.append(await turn.analyze_end_of_turn())
    return speaking, verdicts


def _trimmed(pcm: bytes) -> bytes:
    """The recording without its leading and trailing quiet (20 ms frames under -40 dBFS)."""
    samples = np.frombuffer(pcm, np.int16).astype(np.float32)
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    loud = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 328)
    return pcm[loud[0] * CHUNK : (loud[-1] + 1) * CHUNK]


def _pair(analyzer_cls=SpeculativeSmartTurn):
    vad = SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2))
    vad.set_sample_rate(8000)
    params = SmartTurnParams(stop_secs=2.0)
    turn = (
        analyzer_cls(vad=vad, params=params)
        if analyzer_cls is SpeculativeSmartTurn
        else (analyzer_cls(params=params))
    )
    turn.set_sample_rate(8000)
    return vad, turn


async def test_the_early_verdict_is_the_one_used_and_matches_the_late_one():
    pcm = SILENCE * 25 + ulaw_to_pcm16(audio.load("book_tomorrow")) + SILENCE * 20
    vad, turn = _pair()
    _, verdicts = await _feed(vad, turn, pcm, False)
    vad2, plain = _pair(SharedSmartTurnAnalyzer)
    _, plain_verdicts = await _feed(vad2, plain, pcm, False)

    assert turn.used == 1 and turn.started >= 1
    (state, metrics), (plain_state, plain_metrics) = verdicts[-1], plain_verdicts[-1]
    assert state == plain_state == EndOfTurnState.COMPLETE
    assert abs(metrics.probability - plain_metrics.probability) < 0.1


async def test_speech_resuming_drops_the_early_verdict():
    speech = _trimmed(ulaw_to_pcm16(audio.load("my_name")))
    # A 120 ms pause (long enough to start an inference, too short for the VAD stop), then more.
    pcm = SILENCE * 25 + speech + SILENCE * 6 + speech + SILENCE * 20
    vad, turn = _pair()
    _, verdicts = await _feed(vad, turn, pcm, False)
    assert turn.started >= 2  # one in the pause, one after the end
    assert turn.used == 1 == len(verdicts)  # only the final silence produced a verdict
