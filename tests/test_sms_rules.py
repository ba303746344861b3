"""Which numbers get texts, and booking codes as they are written and spoken. Pure tables."""

from __future__ import annotations

import pytest

from bot.scheduling.identity import code_matches
from bot.scheduling.ledger import booking_code, new_booking_id
from bot.sms_policy import sms_refusal
from bot.speech import speak_code
from tests.scheduling_support import DENTAL, PLUMBING, profile


@pytest.mark.parametrize(
    ("number", "countries", "refusal"),
    [
        ("+18605550199", ["US"], None),  # US fixed line or mobile
        ("+12125550123", ["US"], None),
        ("+19005551234", ["US"], "wrong_type"),  # US 900 premium rate
        ("+18005550199", ["US"], "wrong_type"),  # toll free
        ("+881612345678", ["US"], "foreign"),  # Iridium satellite (+881)
        ("+881612345678", ["GB"], "foreign"),
        ("+33612345678", ["US"], "foreign"),  # a French mobile for a US business
        ("+14165550123", ["US"], "foreign"),  # Canada shares +1
        ("+14165550123", ["US", "CA"], None),  # ...unless the profile lists it
        ("+18765550123", ["US"], "foreign"),  # Jamaica shares +1 too
        ("+447400123456", ["GB"], None),  # UK mobile
        ("+442079460123", ["GB"], None),  # London landline
        ("+449091234567", ["GB"], "wrong_type"),  # UK 09 premium rate
        ("+448712345678", ["GB"], "wrong_type"),  # UK 087 shared cost
        ("+448001234567", ["GB"], "wrong_type"),  # UK 0800 free phone
        ("+447012345678", ["GB"], "wrong_type"),  # UK 070 personal number
        ("+443001234567", ["GB"], "wrong_type"),  # UK 03 non-geographic
        ("+447400123456", ["US"], "foreign"),
        ("+447700900555", ["GB"], "invalid"),  # Ofcom's drama range: never a real phone
        ("+1555", ["US"], "invalid"),
        ("not a number", ["US"], "invalid"),
    ],
)
def test_texts_only_to_mobile_or_landline_numbers_of_the_business_countries(
    number, countries, refusal
):
    assert sms_refusal(number, countries) == refusal


def test_texting_countries_default_to_the_profile_country_and_can_be_listed():
    assert profile(PLUMBING).sms_regions == ["US"]
    assert profile(DENTAL).sms_regions == ["GB"]
    assert profile(PLUMBING, sms_countries=["US", "CA"]).sms_regions == ["US", "CA"]
    with pytest.raises(ValueError):
        profile(PLUMBING, sms_countries=["usa"])


def test_every_booking_has_a_six_digit_code_that_is_matched_written_or_spoken():
    ids = [new_booking_id() for _ in range(200)]
    codes = [booking_code(i) for i in ids]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert codes == [booking_code(i) for i in ids]  # stable for a booking
    assert len(set(codes)) > 190
    code = "407209"
    assert speak_code(code) == "4 0 7, 2 0 9"
    for said in ("407209", "407 209", "4-0-7-2-0-9", "four oh seven two zero nine", "4 zero 7 209"):
        assert code_matches(said, code), said
    for said in ("407208", "40720", "4072090", "", "four seven two zero nine", "ABCDEF"):
        assert not code_matches(said, code), said
