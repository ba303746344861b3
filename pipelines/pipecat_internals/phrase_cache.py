"""Fixed phrases (the greeting, re-prompts, goodbyes) synthesized once per voice, then replayed.

Every call opens with the same greeting, so asking Cartesia for it again costs the caller the
provider's time to first audio (about 100 ms, more on a bad day) and the business the characters.
`PhraseCachingCartesiaTTS` records the audio and word timestamps of each `TTSSpeakFrame` the first
time it is spoken, keyed by voice, model, language, sample rate and text, and replays them from
memory afterwards. LLM replies are never cached. The replay goes through the same audio context
as live audio, so the transport, the word-timed transcript and interruptions behave the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from pipecat.frames.frames import Frame, TTSAudioRawFrame, TTSSpeakFrame, TTSStoppedFrame
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.tts_service import WebsocketTTSService
from pipecat.utils.context.word_timestamp_tracker import WordTimestamp

MAX_PHRASES = 64  # a profile has a handful of fixed lines; this only bounds memory

Key = tuple[str, str, str, str, int, str]


@dataclass
class _Phrase:
    """A context's audio chunks and word timestamps, in the order they arrived."""

    items: list[bytes | tuple[str, float]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def has_audio(self) -> bool:
        return any(isinstance(item, bytes) for item in self.items)


class PhraseCache:
    """Process-wide store of synthesized fixed phrases (least recently used out first)."""

    def __init__(self, max_phrases: int = MAX_PHRASES) -> None:
        self._phrases: OrderedDict[Key, _Phrase] = OrderedDict()
        self._max = max_phrases

    def get(self, key: Key) -> _Phrase | None:
        """The cached phrase for `key`, marked recently used; None if absent."""
        phrase = self._phrases.get(key)
        if phrase is not None:
            self._phrases.move_to_end(key)
        return phrase

    def put(self, key: Key, phrase: _Phrase) -> None:
        """Cache `phrase` under `key`, evicting the least recently used past the limit."""
        self._phrases[key] = phrase
        self._phrases.move_to_end(key)
        while len(self._phrases) > self._max:
            self._phrases.popitem(last=False)

    def __len__(self) -> int:
        return len(self._phrases)


PHRASES = PhraseCache()


class PhraseCachingCartesiaTTS(CartesiaTTSService):
    """Cartesia TTS that replays fixed phrases (`TTSSpeakFrame`s) from `PHRASES`."""

    def __init__(self, *args, phrase_cache: PhraseCache | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._phrase_cache = phrase_cache or PHRASES
        self._speaking_text: str | None = None
        self._speak_keys: dict[str, Key] = {}  # context id -> key, for TTSSpeakFrame contexts
        self._recording: dict[str, _Phrase] = {}
        self._replayed: set[str] = set()  # replayed contexts whose end is still to be queued
        self._local: set[str] = set()  # contexts Cartesia never saw: nothing to flush or cancel

    def _key(self, text: str) -> Key:
        s = self._settings
        voice = str(getattr(s, "voice", "") or "")
        model = str(getattr(s, "model", "") or "")
        language = str(getattr(s, "language", "") or "")
        generation = str(getattr(s, "generation_config", "") or "")
        return (voice, model, language, generation, int(self.sample_rate or 0), text)

    async def _handle_tts_speak(self, frame: TTSSpeakFrame) -> None:
        self._speaking_text = frame.text
        try:
            await super()._handle_tts_speak(frame)
        finally:
            self._speaking_text = None

    async def on_turn_context_created(self, context_id: str) -> None:
        """Remember which fixed phrase (if any) this new context speaks."""
        if self._speaking_text is not None:
            self._speak_keys[context_id] = self._key(self._speaking_text)
        await super().on_turn_context_created(context_id)

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        """Replay a cached fixed phrase; otherwise synthesize (recording fixed phrases)."""
        key = self._speak_keys.get(context_id)
        if key is not None and context_id in self._replayed:
            yield None  # the whole phrase was replayed with its first sentence
            return
        cached = self._phrase_cache.get(key) if key is not None else None
        if cached is not None and self.audio_context_available(context_id):
            self._replayed.add(context_id)
            self._local.add(context_id)
            for item in cached.items:
                if isinstance(item, bytes):
                    frame = TTSAudioRawFrame(
                        audio=item,
                        sample_rate=self.sample_rate,
                        num_channels=1,
                        context_id=context_id,
                    )
                    await self.append_to_audio_context(context_id, frame)
                else:
                    await self.add_word_timestamps([item], context_id)
            yield None
            return
        if key is not None and context_id not in self._recording:
            self._recording[context_id] = _Phrase()
        async for frame in super().run_tts(text, context_id):
            yield frame

    async def append_to_audio_context(self, context_id: str | None, frame) -> None:
        """Record a cacheable phrase's audio and word timings; store it when Cartesia says done."""
        phrase = self._recording.get(context_id) if context_id else None
        if phrase is not None and context_id:
            if isinstance(frame, TTSAudioRawFrame):
                phrase.items.append(frame.audio)
            elif isinstance(frame, WordTimestamp):
                phrase.items.append((frame.word, frame.timestamp))
            elif isinstance(frame, TTSStoppedFrame):  # Cartesia said "done"
                del self._recording[context_id]
                key = self._speak_keys.get(context_id)
                if key is not None and phrase.has_audio and not phrase.interrupted:
                    self._phrase_cache.put(key, phrase)
        await super().append_to_audio_context(context_id, frame)

    async def flush_audio(self, context_id: str | None = None) -> None:
        """A replayed phrase ends here, as a live one ends when Cartesia answers the flush."""
        flush_id = context_id or self.get_active_audio_context_id()
        if flush_id and flush_id in self._local:
            if flush_id in self._replayed and self.audio_context_available(flush_id):
                await self.append_to_audio_context(flush_id, TTSStoppedFrame(context_id=flush_id))
                await self.remove_audio_context(flush_id)
            self._replayed.discard(flush_id)
            self._speak_keys.pop(flush_id, None)
            return
        await super().flush_audio(context_id)

    async def on_audio_context_interrupted(self, context_id: str) -> None:
        """Mark a recording interrupted (never cached); a replayed context needs no Cartesia cancel."""
        phrase = self._recording.pop(context_id, None)
        if phrase is not None:
            phrase.interrupted = True
        if context_id in self._local:  # Cartesia never saw this context: nothing to cancel
            self._replayed.discard(context_id)
            await WebsocketTTSService.on_audio_context_interrupted(self, context_id)
            return
        await super().on_audio_context_interrupted(context_id)

    async def on_audio_context_completed(self, context_id: str) -> None:
        """Forget everything kept for a finished context."""
        self._speak_keys.pop(context_id, None)
        self._recording.pop(context_id, None)
        self._local.discard(context_id)
        await super().on_audio_context_completed(context_id)
