"""Synthetic recording audio: 8 kHz 16-bit PCM WAV, a quiet tone and silence, with the stdlib only.

Python's ``wave`` writes PCM only (no µ-law), which every consumer of a Twilio WAV reads anyway.
"""

from __future__ import annotations

import io
import math
import struct
import wave

SAMPLE_RATE = 8000
TONE_HZ = 440
# A quarter of full scale: clearly audible, never clipping.
AMPLITUDE = 8000


def _second(channels: int) -> bytes:
    """One second: half a second of tone, half of silence, the same on every channel."""
    half = SAMPLE_RATE // 2
    tone = [round(AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE)) for n in range(half)]
    samples = tone + [0] * (SAMPLE_RATE - half)
    frames = [value for sample in samples for value in [sample] * channels]
    return struct.pack(f"<{len(frames)}h", *frames)


_SECONDS = {channels: _second(channels) for channels in (1, 2)}


def recording_wav(seconds: int, channels: int = 1) -> bytes:
    """A WAV exactly ``seconds`` long; dual-channel recordings get two channels, as Twilio's do."""
    if channels not in _SECONDS:
        raise ValueError("a recording has one or two channels")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(_SECONDS[channels] * max(0, seconds))
    return buffer.getvalue()
