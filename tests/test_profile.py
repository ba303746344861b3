"""Business profiles: the shipped ones load, a wrong one fails with one line naming the field."""

from pathlib import Path

import pytest

from bot.profile import ProfileError, load_profile
from bot.prompts import build_system_prompt

PROFILES = Path(__file__).resolve().parent.parent / "bot" / "profiles"
GOOD = (PROFILES / "bristol_plumbing.yaml").read_text()


def test_shipped_profiles_load():
    plumbing = load_profile(PROFILES / "bristol_plumbing.yaml")
    dental = load_profile(PROFILES / "riverside_dental.yaml")
    assert plumbing.name == "Bristol Plumbing"
    assert plumbing.service("tankless_install").duration_minutes == 240
    assert plumbing.service("repair").duration_minutes == 60
    assert dental.timezone == "Europe/London"
    assert dental.emergency.emergency_number == "999"
    assert plumbing.emergency.emergency_number == "911"


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("timezone: America/New_York", "timezone: Mars/Olympus", "timezone", "IANA"),
        ('monday: ["07:30-17:30"]', 'monday: ["07:30-25:00"]', "hours.monday[0]", "24-hour"),
        ('monday: ["07:30-17:30"]', 'monday: ["17:30-07:30"]', "hours.monday[0]", "after opening"),
        (
            "duration_minutes: 240",
            "duration_minutes: -5",
            "services[3].duration_minutes",
            "greater than or equal to 5",
        ),
        ('phones: ["+18605550111"]', 'phones: ["860-555-0111"]', "owner.phones[0]", "E.164"),
        ("default_service: repair", "default_service: haircut", "default_service", "haircut"),
        ("name: Bristol Plumbing", "name: Bristol Plumbing\nmotto: hi", "motto", "not permitted"),
    ],
)
def test_invalid_profile_names_the_field(tmp_path, old, new, field, reason):
    assert old in GOOD
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"field '{field}'" in message
    assert reason in message


def test_unreadable_profiles(tmp_path):
    with pytest.raises(ProfileError, match="file not found"):
        load_profile(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="not valid YAML at line"):
        load_profile(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ProfileError, match="mapping"):
        load_profile(scalar)


def test_prompt_is_built_from_the_profile():
    profile = load_profile(PROFILES / "bristol_plumbing.yaml")
    prompt = build_system_prompt(profile, tool_names=["end_call"])
    assert "Bristol Plumbing" in prompt
    assert "tankless water heater installation (about 240 minutes)" in prompt
    assert "Saturday: 9 AM to 1 PM" in prompt
    assert "Sunday: closed" in prompt
    assert "end_call" in prompt
