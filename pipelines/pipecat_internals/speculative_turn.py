"""smart-turn started inside the VAD's stop window, so its verdict is ready when the stop comes.

Pipecat runs smart-turn once the VAD reports that the caller stopped, which is `stop_secs` (0.2 s)
after the last speech, and the inference then takes 60-110 ms of CPU: all of it on the reply's
critical path. Here the inference starts once the caller has been quiet for
`SPECULATE_AFTER_SECS`. If the VAD then reports the stop, the verdict is already there (or nearly);
if the caller speaks again first, it is dropped, and a pause shorter than that never costs an
inference. The model judges the same speech either way; the part of the stop window not yet heard
is filled with the quiet that was.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.metrics.metrics import MetricsData

from bot.metrics import SMART_TURN_EARLY
from pipelines.pipecat_internals.shared_models import (
    SharedSileroVADAnalyzer,
    SharedSmartTurnAnalyzer,
)

# Two 32 ms VAD windows of quiet: gaps between words are mostly shorter, and the inference (about
# 65 ms on an idle core) still ends before the 0.2 s stop window does.
SPECULATE_AFTER_SECS = 0.064
# Enough 20 ms chunks to hold the quiet that started the speculation.
QUIET_CHUNKS_TO_REPEAT = 8


class SpeculativeSmartTurn(SharedSmartTurnAnalyzer):
    """smart-turn v3 that starts judging the turn while the VAD is still counting the silence."""

    def __init__(
        self,
        *,
        vad: SharedSileroVADAnalyzer,
        params: SmartTurnParams | None = None,
        speculate_after_secs: float = SPECULATE_AFTER_SECS,
    ) -> None:
        super().__init__(params=params)
        self._vad = vad
        self._after_secs = speculate_after_secs
        self._speculation: asyncio.Future | None = None
        self.started = 0  # inferences started early
        self.used = 0  # of those, verdicts the end of turn used

    def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
        """Buffer the audio as usual; start or drop the early inference as the VAD moves."""
        state = super().append_audio(buffer, is_speech)
        if not is_speech or state != EndOfTurnState.INCOMPLETE:
            return state
        vad_state = self._vad.state
        if vad_state == VADState.SPEAKING:
            self._drop_speculation()
        elif (
            vad_state == VADState.STOPPING
            and self._speculation is None
            and self._speech_triggered
            and self._vad.quiet_windows * self._vad.window_secs >= self._after_secs
        ):
            loop = asyncio.get_running_loop()
            self._speculation = loop.run_in_executor(
                self._model_executor, self._process_speech_segment, self._padded_buffer()
            )
            self.started += 1
        return state

    def _padded_buffer(self) -> list[tuple[float, np.ndarray]]:
        """The buffered audio plus the rest of the stop window, made of the quiet just heard.

        The model is less sure of a turn's end with 64 ms of trailing silence than with the 200 ms
        it sees at the VAD stop (0.64 against 0.86 on one recording), so the silence the VAD is
        still waiting for is supplied by repeating the line's own quiet audio.
        """
        buffer = list(self._audio_buffer)
        quiet_secs = self._vad.quiet_windows * self._vad.window_secs
        missing = int((self._vad.params.stop_secs - quiet_secs) * self.sample_rate)
        if missing <= 0 or not buffer:
            return buffer
        heard = np.concatenate([chunk for _, chunk in buffer[-QUIET_CHUNKS_TO_REPEAT:]])
        quiet = heard[-int(quiet_secs * self.sample_rate) :]
        pad = np.resize(quiet, missing) if len(quiet) else np.zeros(missing, np.int16)
        buffer.append((buffer[-1][0], pad))
        return buffer

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, MetricsData | None]:
        """The early verdict if there is one for this silence, else a fresh inference."""
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return await super().analyze_end_of_turn()
        self.used += 1
        SMART_TURN_EARLY.labels("used").inc()
        state, result = await speculation
        if state == EndOfTurnState.COMPLETE:
            self._clear(state)
        return state, result

    def _drop_speculation(self) -> None:
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return
        SMART_TURN_EARLY.labels("dropped").inc()
        if not speculation.done():
            speculation.cancel()  # still queued behind other calls' inferences: never runs

    def _clear(self, turn_state: Any) -> None:
        self._drop_speculation()
        super()._clear(turn_state)

    async def cleanup(self) -> None:
        """Drop any pending speculation, then clean up as usual."""
        self._drop_speculation()
        await super().cleanup()
