#!/usr/bin/env bash
# Regenerate the speech fixtures in this directory (espeak-ng + sox, both system packages).
#
# *.ulaw : raw 8 kHz mono G.711 mu-law, exactly what Twilio Media Streams carry. No padding:
#          the fake caller sends line silence (0xFF) around utterances itself.
# *_48k.wav : 48 kHz 16-bit mono WAV with 1 s of silence before and after, for a browser's
#          file-backed fake microphone (Chromium --use-file-for-fake-audio-capture).
#
# The utterances were chosen because Pipecat's smart-turn v3.2 model judges them "complete",
# so a turn ends on the VAD stop instead of smart-turn's 3 s silence fallback.
# `sox -D` turns dithering off so that the output is byte-for-byte reproducible.
# Keep the texts in sync with FIXTURES in __init__.py.
set -euo pipefail

cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

speak() {  # speak NAME TEXT -> NAME.ulaw
    espeak-ng -v en-us -s 160 -w "$tmp/$1.wav" "$2"
    sox -D "$tmp/$1.wav" -r 8000 -c 1 -e mu-law -t raw "$1.ulaw"
}

speak book_tomorrow "Can you book me in for tomorrow morning?"
speak my_name "My name is John Smith."
speak leaking_sink "Can you send someone to fix a leaking kitchen sink tomorrow morning?"
speak never_mind "Actually never mind, thanks."

# Browser microphone fixture (reuses the espeak output of book_tomorrow).
sox -D "$tmp/book_tomorrow.wav" -r 48000 -c 1 -b 16 -e signed-integer book_tomorrow_48k.wav pad 1 1

ls -l ./*.ulaw ./*.wav
