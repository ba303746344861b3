"""One Silero VAD session and one smart-turn session per process, shared by every call.

Pipecat's analyzers each load their own ONNX session, so every call paid about 50 MB of RSS and a
model load on the event loop. An `onnxruntime.InferenceSession` holds only the model weights and
its `run` is thread-safe, so one session per process is enough. What is per call stays per call:

- Silero VAD: the recurrent state and audio context live in `SileroOnnxModel` (one per call,
  built around the shared session), the VAD state machine in the analyzer.
- smart-turn v3: stateless per inference (each run sees the turn's last 8 s of audio); the audio
  buffer and silence counters live in the analyzer, one per call.

Two more costs go: the VAD runs inline (about 0.1 ms per 32 ms window at 8 kHz) instead of one
thread-pool hop per 20 ms packet, and smart-turn inferences (60-110 ms of CPU each) share one
low-priority thread per process, so they queue instead of preempting the audio of other calls.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources

import numpy as np
import onnxruntime as ort
from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn, SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from pipelines.pipecat_internals import tls

# A VAD window quieter than this (RMS of 16-bit samples, -55 dBFS) is scored as no speech without
# running Silero. Telephone speech is around -26 dBFS and its quiet syllables above -45; line and
# comfort noise sit at -60 to -70. Such a window could not pass the VAD's volume gate (min_volume
# 0.6 = -50 LUFS) anyway; skipping the model there saves about a third of a millisecond per 32 ms
# while the caller is silent, and stops Silero's confidence lagging on after speech ends.
QUIET_WINDOW_RMS = 32768 * 10 ** (-55 / 20)

# Niceness of the smart-turn thread: the event loop (audio in and out for every call) wins the
# CPU whenever both want it; inference uses what is left.
_INFERENCE_NICENESS = 10


def _model_path(package: str, name: str) -> str:
    return str(resources.files(package).joinpath(name))


def _single_threaded() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


@cache
def silero_session() -> ort.InferenceSession:
    """The process's Silero VAD session (the model bundled with pipecat)."""
    return ort.InferenceSession(
        _model_path("pipecat.audio.vad.data", "silero_vad.onnx"),
        sess_options=_single_threaded(),
        providers=["CPUExecutionProvider"],
    )


@cache
def smart_turn_session() -> ort.InferenceSession:
    """The process's smart-turn v3.2 session (the model bundled with pipecat)."""
    return ort.InferenceSession(
        _model_path("pipecat.audio.turn.smart_turn.data", "smart-turn-v3.2-cpu.onnx"),
        sess_options=_single_threaded(),
        providers=["CPUExecutionProvider"],
    )


def _lower_priority() -> None:
    try:  # Linux: niceness is per thread
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _INFERENCE_NICENESS)
    except (AttributeError, OSError):
        pass


@cache
def smart_turn_executor() -> ThreadPoolExecutor:
    """One low-priority inference thread per process, shared by every call's smart-turn."""
    return ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="smart-turn", initializer=_lower_priority
    )


def warm_up() -> None:
    """Load both models now (at start-up) rather than on the first call's event loop."""
    silero_session()
    smart_turn_session()
    tls.share_default_tls_contexts()


class SharedSileroVADAnalyzer(SileroVADAnalyzer):
    """Silero VAD on the shared session; the model's recurrent state stays per call."""

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None):
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        model = SileroOnnxModel.__new__(SileroOnnxModel)  # skip its own session load
        model.session = silero_session()
        model.sample_rates = [8000, 16000]
        model.reset_states()
        self._model = model
        self._windows_since_reset = 0
        self._low_confidence_windows = 0

    @property
    def state(self) -> VADState:
        """The VAD's state after the last window it scored."""
        return self._vad_state

    @property
    def quiet_windows(self) -> int:
        """Consecutive windows without speech since the caller was last heard (while stopping)."""
        return self._vad_stopping_count if self._vad_state == VADState.STOPPING else 0

    @property
    def window_secs(self) -> float:
        """Seconds of audio in one VAD window."""
        return self.num_frames_required() / self.sample_rate

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Run the VAD inline: cheaper than a thread hop for every 20 ms packet."""
        return self._run_analyzer(buffer)

    def voice_confidence(self, buffer: bytes) -> float:
        """Silero's confidence, or 0 without running it for a window below `QUIET_WINDOW_RMS`."""
        samples = np.frombuffer(buffer, np.int16).astype(np.float32)
        quiet = float(np.dot(samples, samples)) < QUIET_WINDOW_RMS**2 * len(samples)
        # While speech is starting, quiet onsets (a soft "n") still count if Silero hears them.
        if quiet and self._vad_state != VADState.STARTING:
            self._maybe_reset_model(0.0)  # keeps Silero's periodic reset during silence
            return 0.0
        return super().voice_confidence(buffer)


class SharedSmartTurnAnalyzer(LocalSmartTurnAnalyzerV3):
    """smart-turn v3 on the shared session and inference thread; the audio buffer is per call."""

    def __init__(self, *, sample_rate: int | None = None, params: SmartTurnParams | None = None):
        BaseSmartTurn.__init__(self, sample_rate=sample_rate, params=params)
        self._log_data = False
        self._session = smart_turn_session()

    @property
    def _model_executor(self) -> ThreadPoolExecutor:
        return smart_turn_executor()

    async def cleanup(self) -> None:
        """Nothing of the call's to release: the session and thread belong to the process."""
        await BaseTurnAnalyzer.cleanup(self)
