"""Owner PIN rules without a server: the setting, the comparison, spoken digits, the lockout."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings, settings_error
from bot.owner_auth import WITHHELD, pin_matches, withhold_digits
from bot.owner_pin_guard import OwnerPinGuard, Verdict
from bot.storage import Store


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("4321", "4321"),
        ("12345678", "12345678"),
        (" 908172 ", "908172"),
        ("", None),  # owner mode off
        ("   ", None),
    ],
)
def test_owner_pin_setting_accepts_4_to_8_digits(value, accepted):
    settings = Settings(_env_file=None, owner_pin=value)
    pin = settings.owner_pin.get_secret_value() if settings.owner_pin else None
    assert pin == accepted


@pytest.mark.parametrize(
    "value",
    ["swordfish", "123", "123456789", "12 34", "4321#", "١٢٣٤", "４３２１", "-123", "12.34"],
)
def test_owner_pin_setting_refuses_anything_else_in_one_line_without_the_value(value):
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, owner_pin=value)
    line = settings_error(caught.value)
    assert line == (
        "configuration error: OWNER_PIN: must be 4 to 8 digits (the owner types it on the "
        "keypad, then #)"
    )
    assert value.strip() not in line


@pytest.mark.parametrize(
    ("expected", "keyed", "match"),
    [
        ("4321", "4321", True),
        ("4321", "4322", False),
        ("4321", "43210", False),
        ("4321", "", False),
        ("4321", "４３２１", False),  # full-width digits are not keypad digits
        ("swordfish", "hello", False),  # a malformed PIN never matches (it matched before)
        ("swordfish", "", False),
        ("", "", False),
    ],
)
def test_pin_matches_only_the_exact_keypad_digits(expected, keyed, match):
    assert pin_matches(expected, keyed) is match


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("My PIN is 4 3 2 1.", f"My PIN is {WITHHELD}."),
        ("It's four three two one", f"It's {WITHHELD}"),
        ("four oh oh two", WITHHELD),
        ("double four, three one", WITHHELD),
        ("forty-three twenty-one", WITHHELD),
        ("4,321 and then 8", f"{WITHHELD} and then {WITHHELD}"),
        ("Nine.", f"{WITHHELD}."),  # one digit per transcript must not leak either
        ("the one for Tuesday", f"the {WITHHELD} for Tuesday"),
        ("I'm going to the shop for bread", "I'm going to the shop for bread"),
        ("read me my messages", "read me my messages"),
    ],
)
def test_spoken_digits_are_withheld(said, kept):
    assert withhold_digits(said) == kept


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_lockout_per_number_and_in_total_then_it_ages_out(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    clock = Clock()
    guard = OwnerPinGuard(store, per_number=3, total=5, window_secs=100, clock=clock)
    a, b = "+18605550111", "+18605550122"
    verdicts = [await guard.check(a, pin_matches("8642", "7777"), "CA1") for _ in range(3)]
    assert [v.verdict for v in verdicts] == [Verdict.WRONG] * 3
    assert [v.lockout for v in verdicts] == [None, None, "number"]  # the owner is texted once
    locked = await guard.check(a, pin_matches("8642", "8642"), "CA2")
    assert locked.verdict is Verdict.LOCKED and locked.lockout is None  # the right PIN too
    assert (await guard.check(b, pin_matches("8642", "8642"), "CA3")).verdict is Verdict.VERIFIED
    more = [await guard.check(b, pin_matches("8642", "9999"), "CA3") for _ in range(2)]
    assert [m.lockout for m in more] == [None, "total"]
    assert (await guard.check(b, pin_matches("8642", "8642"), "CA4")).verdict is Verdict.LOCKED
    clock.now += 101  # every failure has left the window
    assert (await guard.check(a, pin_matches("8642", "8642"), "CA5")).verdict is Verdict.VERIFIED
    rows = await store.read_all("SELECT * FROM owner_pin_failures")
    assert len(rows) == 5 and "8642" not in repr(rows) and "7777" not in repr(rows)
    await store.close()
