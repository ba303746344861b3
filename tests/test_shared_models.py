"""The shared ONNX sessions behave exactly like Pipecat's per-call analyzers."""

from __future__ import annotations

import numpy as np
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from pipelines.pipecat_internals.shared_models import (
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


async def test_shared_vad_keeps_state_per_call():
    book, name = _pcm("book_tomorrow"), _pcm("my_name")
    expected_book = await _states(SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2)), book)
    expected_name = await _states(SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2)), name)
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


def _speech_span(states: list) -> tuple[int, int]:
    """First chunk the VAD calls speech, and the chunk where it reports the stop."""
    speaking = [i for i, s in enumerate(states) if s == VADState.SPEAKING]
    stopped = next(i for i in range(speaking[-1], len(states)) if states[i] == VADState.QUIET)
    return speaking[0], stopped


async def test_quiet_gate_finds_the_same_speech_as_pipecats_vad():
    for name in ("book_tomorrow", "my_name", "leaking_sink"):
        pcm = _pcm(name)
        stock = _speech_span(await _states(SileroVADAnalyzer(params=VADParams(stop_secs=0.2)), pcm))
        gated = await _states(SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2)), pcm)
        start, stop = _speech_span(gated)
        assert start == stock[0], name
        assert abs(stop - stock[1]) <= 3, name  # within 60 ms; usually earlier
        # One segment: the gate never ends speech inside the utterance.
        first_quiet_after_speech = next(
            i for i in range(start, len(gated)) if gated[i] == VADState.QUIET
        )
        assert first_quiet_after_speech == stop, name


async def test_line_noise_is_not_run_through_silero():
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(8000 * 2) * 32768 * 10 ** (-65 / 20)).astype(np.int16).tobytes()
    vad = SharedSileroVADAnalyzer(params=VADParams(stop_secs=0.2))
    states = await _states(vad, noise)
    assert set(states) == {VADState.QUIET}
    assert not vad._model._state.any()  # Silero's recurrent state never moved
    speech = await _states(vad, _pcm("my_name", pad_s=0.0))
    assert VADState.SPEAKING in speech


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
