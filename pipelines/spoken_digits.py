"""Withholds digits said aloud on an owner-number call that has not proved the PIN.

Sits right after speech-to-text: every transcript (final, interim or eager) passing while
`CallSession.withholds_spoken_digits` holds has its digit runs replaced by '[digits withheld]'
(`bot.owner_auth.withhold_digits`), and its raw provider result dropped, before the emergency
watcher, the user aggregator, the LLM, the turn record or the test page sees it. The audio itself
has already reached the speech-to-text provider; nothing here can take that back.
"""

from __future__ import annotations

from pipecat.frames.frames import (
    EagerTranscriptionFrame,
    Frame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bot.call_session import CallSession
from bot.owner_auth import withhold_digits

_TRANSCRIPTS = (TranscriptionFrame, InterimTranscriptionFrame, EagerTranscriptionFrame)


class SpokenDigitsWithheld(FrameProcessor):
    """Rewrites transcripts in place while the call may still be waiting for the owner's PIN."""

    def __init__(self, session: CallSession) -> None:
        super().__init__(name="SpokenDigitsWithheld")
        self._session = session

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Withhold digits from transcripts while a PIN may still be spoken; forward all frames."""
        await super().process_frame(frame, direction)
        if (
            direction == FrameDirection.DOWNSTREAM
            and isinstance(frame, _TRANSCRIPTS)
            and self._session.withholds_spoken_digits
        ):
            withheld = withhold_digits(frame.text)
            if withheld != frame.text:
                frame.text = withheld
                if hasattr(frame, "result"):
                    frame.result = None  # the provider's raw result still holds the words
        await self.push_frame(frame, direction)
