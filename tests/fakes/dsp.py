"""Tiny audio helpers shared by the fakes: G.711 mu-law, tones, RMS, zero-crossing pitch.

Pure standard library (``audioop`` is gone in Python 3.13). PCM is signed 16-bit little-endian
mono, as every provider in this project speaks it.
"""

from __future__ import annotations

import math
import sys
from array import array

ULAW_SILENCE = 0xFF
"""The mu-law byte for digital silence (what a quiet phone line carries)."""

VOICED_RMS = 300.0
"""RMS (int16 scale) above which a chunk counts as voiced."""


def _ulaw_to_linear(byte: int) -> int:
    u = ~byte & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -magnitude if sign else magnitude


ULAW_DECODE_TABLE: tuple[int, ...] = tuple(_ulaw_to_linear(b) for b in range(256))
"""G.711 mu-law byte -> int16 sample."""

_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def _linear_to_ulaw(sample: int) -> int:
    # Classic Sun g711.c on the 14-bit value (bit-exact with CPython's audioop.lin2ulaw).
    value = sample >> 2
    if value < 0:
        value, mask = -value, 0x7F
    else:
        mask = 0xFF
    value = min(value, 8159) + 0x21
    segment = next((i for i, end in enumerate(_SEG_END) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _pcm_array(pcm: bytes) -> array:
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder != "little":
        samples.byteswap()
    return samples


def _pcm_bytes(samples: array) -> bytes:
    if sys.byteorder != "little":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def ulaw_decode(ulaw: bytes) -> array:
    """Decode mu-law bytes to an ``array('h')`` of int16 samples."""
    table = ULAW_DECODE_TABLE
    return array("h", (table[b] for b in ulaw))


def ulaw_to_pcm16(ulaw: bytes) -> bytes:
    """Decode mu-law bytes to s16le PCM bytes (same sample rate)."""
    return _pcm_bytes(ulaw_decode(ulaw))


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """Encode s16le PCM bytes as mu-law (same sample rate)."""
    return bytes(_linear_to_ulaw(s) for s in _pcm_array(pcm))


def sine_pcm16(freq: float, secs: float, sample_rate: int, amplitude: int = 8000) -> bytes:
    """A sine tone as s16le mono PCM."""
    n = int(round(secs * sample_rate))
    step = 2.0 * math.pi * freq / sample_rate
    return _pcm_bytes(array("h", (int(amplitude * math.sin(step * i)) for i in range(n))))


def rms_samples(samples: array) -> float:
    """Root mean square of int16 samples (0.0 for an empty input)."""
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def rms_pcm16(pcm: bytes) -> float:
    """Root mean square of s16le PCM bytes."""
    return rms_samples(_pcm_array(pcm))


def rms_ulaw(ulaw: bytes) -> float:
    """Root mean square of mu-law bytes, on the int16 scale."""
    return rms_samples(ulaw_decode(ulaw))


def dominant_freq_pcm16(
    pcm: bytes, sample_rate: int, frame_samples: int = 160, min_rms: float = VOICED_RMS
) -> float:
    """Estimate the pitch of a tone by counting zero crossings over voiced frames only.

    Frames quieter than ``min_rms`` (gaps, line silence) are skipped, so the audio of a whole
    call can be measured. Returns 0.0 when nothing is voiced.
    """
    samples = _pcm_array(pcm)
    crossings = 0
    pairs = 0
    for start in range(0, len(samples) - frame_samples + 1, frame_samples):
        if rms_samples(samples[start : start + frame_samples]) < min_rms:
            continue
        first = max(start, 1)
        pairs += start + frame_samples - first
        crossings += sum(
            1
            for j in range(first, start + frame_samples)
            if (samples[j - 1] < 0) != (samples[j] < 0)
        )
    if not pairs:
        return 0.0
    return crossings * sample_rate / (2.0 * pairs)
