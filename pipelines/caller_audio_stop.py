"""Where caller audio stops travelling down the pipeline.

Every 20 ms of caller audio is a frame. Once the user aggregator has run VAD and turn detection on
it, nothing further down (LLM, TTS, output transport, assistant aggregator) uses it, yet each of
those processors would still queue, wake up for and forward it: about eight hops per frame, 50
frames a second, per call. One hop here saves them.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class CallerAudioStop(FrameProcessor):
    """Drops caller audio travelling downstream; passes every other frame."""

    def __init__(self) -> None:
        super().__init__(name="CallerAudioStop")

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Drop downstream caller audio; forward every other frame."""
        await super().process_frame(frame, direction)
        if direction is FrameDirection.DOWNSTREAM and isinstance(frame, InputAudioRawFrame):
            return
        await self.push_frame(frame, direction)
