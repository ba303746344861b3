"""Loopback fakes of every external service the receptionist talks to, plus a fake Twilio caller.

- ``FakeDeepgram`` (deepgram.py): live STT WebSocket, transcripts scripted per ``tag``.
- ``FakeOpenAI`` (openai.py): Chat Completions SSE, replies chosen by a responder / ``ScriptedLLM``.
- ``FakeCartesia`` (cartesia.py): TTS WebSocket producing sine tones with word timestamps.
- ``FakeTwilioREST`` (twilio_rest.py): call updates (hang-up), outbound calls, SMS.
- ``FakeGoogleCalendar`` (google_calendar.py): Calendar v3 events/freeBusy + service-account tokens.
- ``ProviderFakes`` (world.py): the five above in one background thread, with ``env()``.
- ``FakeTwilioCaller`` (caller.py): plays Twilio's webhook + Media Streams against the server.

Conventions: ``await fake.start()`` binds 127.0.0.1:0 and sets ``.port``; ``await fake.stop()``.
Records are plain lists of dicts with a ``t`` (``time.monotonic()``), appended only on the
fake's own loop. Control methods (``reset``, ``fail_next``, ``hang_next``, ``drop_connections``)
are coroutines: await them in-process, or run them through ``ProviderFakes.call`` from another
thread. The WebSocket fakes (Deepgram, Cartesia) can also refuse (``refuse_until``,
``refuse_status``) or hang (``hang_until``) handshakes; Cartesia can go ``silent``.
"""

from .caller import FakeTwilioCaller, dominant_freq, ulaw_silence, ulaw_tone
from .cartesia import FakeCartesia, hashed_freq
from .deepgram import FakeDeepgram
from .google_calendar import FakeGoogleCalendar
from .openai import (
    FakeOpenAI,
    Rule,
    ScriptedLLM,
    Text,
    ToolCall,
    ToolCalls,
    last_user_text,
    tool_names,
    tool_results,
)
from .twilio_rest import FakeTwilioREST
from .world import ProviderFakes

__all__ = [
    "FakeCartesia",
    "FakeDeepgram",
    "FakeGoogleCalendar",
    "FakeOpenAI",
    "FakeTwilioCaller",
    "FakeTwilioREST",
    "ProviderFakes",
    "Rule",
    "ScriptedLLM",
    "Text",
    "ToolCall",
    "ToolCalls",
    "dominant_freq",
    "hashed_freq",
    "last_user_text",
    "tool_names",
    "tool_results",
    "ulaw_silence",
    "ulaw_tone",
]
