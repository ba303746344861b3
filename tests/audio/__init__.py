"""Speech fixtures: espeak-ng utterances as raw 8 kHz mu-law (Twilio's wire format).

Regenerate with ``tests/audio/make_fixtures.sh``. The ``.ulaw`` files carry no padding; the fake
caller sends line silence around them. ``book_tomorrow_48k.wav`` (48 kHz s16 mono WAV, 1 s of
silence each side) is for a browser's file-backed fake microphone.
"""

from __future__ import annotations

from pathlib import Path

AUDIO_DIR = Path(__file__).resolve().parent

FIXTURES: dict[str, str] = {
    "book_tomorrow": "Can you book me in for tomorrow morning?",
    "my_name": "My name is John Smith.",
    "leaking_sink": "Can you send someone to fix a leaking kitchen sink tomorrow morning?",
    "never_mind": "Actually never mind, thanks.",
}
"""Fixture name -> the text spoken in ``<name>.ulaw``."""


def path(name: str) -> Path:
    """Path of a fixture: ``"book_tomorrow"`` -> ``.../book_tomorrow.ulaw``; names with a suffix
    (``"book_tomorrow_48k.wav"``) are taken as file names."""
    return AUDIO_DIR / (name if "." in name else f"{name}.ulaw")


def load(name: str) -> bytes:
    """Bytes of a fixture (raw 8 kHz mu-law for the plain names)."""
    return path(name).read_bytes()
