"""Spoken formatting: table-driven, so TTS quirks are fixed in one place."""

from datetime import date, time

import pytest

from bot.pii import mask_phone
from bot.speech import ordinal, speak_date, speak_phone, speak_time


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (31, "31st"),
    ],
)
def test_ordinal(n, spoken):
    assert ordinal(n) == spoken


@pytest.mark.parametrize(
    ("t", "spoken"),
    [
        (time(0, 0), "12 AM"),
        (time(9, 30), "9:30 AM"),
        (time(12, 0), "12 PM"),
        (time(14, 0), "2 PM"),
        (time(23, 5), "11:05 PM"),
    ],
)
def test_speak_time(t, spoken):
    assert speak_time(t) == spoken


def test_speak_date_and_phone():
    assert speak_date(date(2026, 11, 24)) == "Tuesday, November the 24th"
    assert speak_phone("+18605550111") == "8 6 0, 5 5 5, 0 1 1 1"


@pytest.mark.parametrize(
    ("number", "country", "spoken"),
    [
        ("+18605550111", "US", "8 6 0, 5 5 5, 0 1 1 1"),
        ("+18605550111", None, "8 6 0, 5 5 5, 0 1 1 1"),
        ("+447700900123", "GB", "0 7 7 0 0, 9 0 0, 1 2 3"),
        ("+447700900123", None, "0 7 7 0 0, 9 0 0, 1 2 3"),
        ("+442079460018", "GB", "0 2 0, 7 9 4 6, 0 0 1 8"),
        ("+447700900123", "US", "plus 4 4, 7 7 0 0, 9 0 0, 1 2 3"),
        ("+18605550111", "GB", "plus 1, 8 6 0, 5 5 5, 0 1 1 1"),
        ("+16135550111", "US", "6 1 3, 5 5 5, 0 1 1 1"),
        ("12345", None, "1 2 3, 4 5"),
    ],
)
def test_phone_numbers_are_read_as_written_in_their_country(number, country, spoken):
    assert speak_phone(number, country) == spoken


def test_mask_phone_keeps_only_last_four():
    assert mask_phone("+18605550111") == "+1******0111"
    assert "555" not in mask_phone("+18605550111")
    assert mask_phone(None) == "-"
