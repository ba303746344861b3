"""The shared ONNX sessions behave exactly like Pipecat's per-call analyzers."""

from __future__ import annotations

import numpy as np
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams

from pipelines.shared_models import (
    SharedSileroVADAnalyzer,
    SharedSmartTurnAnalyzer,
    silero_session,
    smart_turn_session,
)
from tests import audio
from tests.fakes.dsp import ulaw_to_pcm16

CHUNK = 320  # 20 ms of 8 kHz int16


def _pcm(name: str, pad_s: float = 0.5) -> bytes:
    silence = b"\x00\x00" * int(8000 * pad_s)
    return silence + ulaw_to_pcm16(audio.load(name)) + silence


async def _states(analyzer, pcm: bytes) -> list:
    analyzer.set_sample_rate(8000)
    return [await analyzer.analyze_audio(pcm[i : i + CHUNK]) for i in range(0, len(pcm), CHUNK)]


async def test_shared_vad_matches_pipecats_and_keeps_state_per_call():
    book, name = _pcm("book_tomorrow"), _pcm("my_name")
    expected_book = await _states(SileroVADAnalyzer(params=VADParams(stop_secs=0.2)), book)
    expected_name = await _states(SileroVADAnalyzer(params=VADParams(stop_secs=0.2)), name)
    # Two calls interleaved on the one session: each must see only its own audio.
    a = SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2))
    b = SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2))
    a.set_sample_rate(8000)
    b.set_sample_rate(8000)
    got_book, got_name = [], []
    for i in range(0, max(len(book), len(name)), CHUNK):
        if i < len(book):
            got_book.append(await a.analyze_audio(book[i : i + CHUNK]))
        if i < len(name):
            got_name.append(await b.analyze_audio(name[i : i + CHUNK]))
    assert got_book == expected_book and got_name == expected_name
    assert a._model.session is b._model.session is silero_session()


async def test_shared_smart_turn_gives_pipecats_prediction():
    samples = np.frombuffer(ulaw_to_pcm16(audio.load("book_tomorrow")), np.int16)
    x = samples.astype(np.float32) / 32768.0
    stock, shared = LocalSmartTurnAnalyzerV3(), SharedSmartTurnAnalyzer()
    stock.set_sample_rate(8000)
    shared.set_sample_rate(8000)
    assert shared._session is smart_turn_session()
    want, got = stock._predict_endpoint(x), shared._predict_endpoint(x)
    assert got["prediction"] == want["prediction"] == 1
    assert abs(got["probability"] - want["probability"]) < 1e-4
    await shared.cleanup()
    assert shared._model_executor is not None  # the process's thread survives a call's cleanup
