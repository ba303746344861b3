"""Spoken formatting: table-driven, so TTS quirks are fixed in one place."""

from datetime import date, time

import pytest

from bot.pii import mask_phone
from bot.speech import ordinal, speak_date, speak_phone, speak_time


@pytest.mark.parametrize(
    ("n", "spoken"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                      (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (31, "31st")],
)
def test_ordinal(n, spoken):
    assert ordinal(n) == spoken


@pytest.mark.parametrize(
    ("t", "spoken"),
    [(time(0, 0), "12 AM"), (time(9, 30), "9:30 AM"), (time(12, 0), "12 PM"), (time(14, 0), "2 PM"),
     (time(23, 5), "11:05 PM")],
)
def test_speak_time(t, spoken):
    assert speak_time(t) == spoken


def test_speak_date_and_phone():
    assert speak_date(date(2026, 11, 24)) == "Tuesday, November the 24th"
    assert speak_phone("+18605550111") == "8 6 0, 5 5 5, 0 1 1 1"
    assert speak_phone("+447700900111") == "4 4 7, 7 0 0, 9 0 0, 1 1 1"


def test_mask_phone_keeps_only_last_four():
    assert mask_phone("+18605550111") == "+1******0111"
    assert "555" not in mask_phone("+18605550111")
    assert mask_phone(None) == "-"
