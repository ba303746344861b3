"""Tenants: files, validation, number resolution, owner PIN hashes, and the command line.

Everything here reads and writes real files in a temporary folder; the command line is run as
`python -m bot.tenants` in its own process and judged by its exit code, output and files.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from bot.profile import load_profile
from bot.tenants import (
    BuiltinCalendar,
    GoogleCalendar,
    Numbers,
    Tenant,
    TenantError,
    TenantRegistry,
    hash_pin,
    load_tenant,
    scan,
    single_tenant,
    verify_pin,
)
from bot.tenants.cli import main
from bot.tenants.pins import is_pin_hash

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "bot" / "profiles"
EXAMPLES = ROOT / "bot" / "tenants_example"
PLUMBING = PROFILES / "bristol_plumbing.yaml"
DENTAL = PROFILES / "riverside_dental.yaml"

SHOP = """\
# A comment that edits must keep.
tenant:
  numbers:
    voice: ["+18605550170"]
    sms: ["+18605550170"]
  calendar: builtin
  languages: [en]
  enabled: true   # trailing comment
profile: {profile}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def shop(profile: Path | str = PLUMBING) -> str:
    return SHOP.format(profile=profile)


def inline_dental() -> str:
    """A tenant whose profile is written inline under `business:`."""
    profile = yaml.safe_load(DENTAL.read_text())
    return yaml.safe_dump(
        {
            "tenant": {
                "numbers": {"voice": "+44 20 7946 0100", "whatsapp": ["+442079460100"]},
                "calendar": {"kind": "builtin"},
                "owner": {"phones": ["+447700900199"]},
                "languages": ["en"],
                "retention": {"transcripts_days": 30},
            },
            "business": profile,
        },
        sort_keys=False,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two tenants: plumbing by profile path, dental inline."""
    tenants = tmp_path / "tenants"
    write(tenants, "shop.yaml", shop())
    write(tenants, "dental.yaml", inline_dental())
    return tenants


# ---- loading ------------------------------------------------------------------------------


def test_two_tenants_load_from_a_folder(folder):
    registry = TenantRegistry.from_folder(folder)
    assert [t.id for t in registry.all()] == ["dental", "shop"]
    shop_t, dental = registry.get("shop"), registry.get("dental")
    assert shop_t.profile.name == "Bristol Plumbing"
    assert shop_t.numbers == Numbers(voice=("+18605550170",), sms=("+18605550170",))
    assert shop_t.calendar == BuiltinCalendar()
    assert shop_t.retention.transcripts_days == 90 and shop_t.retention.audit_days == 365
    assert shop_t.owner_numbers == ("+18605550111",)  # the profile's
    assert shop_t.owner_pin_hash is None and not shop_t.verify_pin("1234")
    assert dental.profile.name == "Riverside Dental"
    assert dental.numbers.voice == ("+442079460100",) and dental.numbers.sms == ()
    assert dental.retention.transcripts_days == 30 and dental.retention.messages_days == 365
    # The override replaced the owner's phones in the profile itself; backups stay the profile's.
    assert dental.owner_numbers == ("+447700900199",)
    assert dental.profile.is_owner_number("+447700900199")
    assert not dental.profile.is_owner_number("+447700900111")
    assert dental.backup_numbers == ("+447700900122",)
    assert dental.greeting_language == "en"
    assert registry.for_number("+18605550170").id == "shop"
    assert registry.for_number("+442079460100").id == "dental"
    assert registry.numbers() == {"+18605550170", "+442079460100"}


def test_the_shipped_example_folder_is_valid_and_uses_the_profiles_phones():
    registry = TenantRegistry.from_folder(EXAMPLES)
    for tenant_id, profile in (("bristol_plumbing", PLUMBING), ("riverside_dental", DENTAL)):
        tenant = registry.get(tenant_id)
        assert tenant.profile == load_profile(profile).model_copy(
            update={"owner": tenant.profile.owner}
        )
        assert registry.for_number(load_profile(profile).phone) is tenant
    assert registry.get("riverside_dental").backup_numbers == ("+447700900133",)
    assert registry.for_number("whatsapp:+442079460100", "whatsapp").id == "riverside_dental"


def test_a_profile_named_without_a_path_is_a_shipped_profile(tmp_path):
    write(tmp_path, "shop.yaml", shop(profile="riverside_dental"))
    assert load_tenant(tmp_path / "shop.yaml").profile.name == "Riverside Dental"


def test_google_calendar_credentials_are_read_from_the_tenant_folder(tmp_path):
    write(tmp_path / "secrets", "sa.json", "{}")
    text = shop().replace(
        "calendar: builtin",
        "calendar: {kind: google, calendar_id: c@group.calendar.google.com,"
        " credentials_file: secrets/sa.json}",
    )
    tenant = load_tenant(write(tmp_path, "shop.yaml", text))
    assert tenant.calendar == GoogleCalendar(
        "c@group.calendar.google.com", tmp_path / "secrets/sa.json"
    )


# ---- validation: one line naming the file and the field -------------------------------------

INVALID = [
    (
        'voice: ["+18605550170"]',
        'voice: ["+1 555"]',
        "tenant.numbers.voice[0]",
        "not a possible phone",
    ),
    ('voice: ["+18605550170"]', 'voice: ["860-555-0170"]', "tenant.numbers.voice[0]", "E.164"),
    ('voice: ["+18605550170"]', "voice: [+18605550170]", "tenant.numbers.voice[0]", "quotes"),
    ('voice: ["+18605550170"]', 'voice: ["call me"]', "tenant.numbers.voice[0]", "E.164"),
    ('sms: ["+18605550170"]', 'fax: ["+18605550170"]', "tenant.numbers", "unknown channel 'fax'"),
    (
        'voice: ["+18605550170"]',
        'voice: ["+18605550170", "+1 (860) 555-0170"]',
        "tenant.numbers",
        "voice lists +18605550170 twice",
    ),
    (
        '    voice: ["+18605550170"]\n    sms: ["+18605550170"]',
        "    {}",
        "tenant.numbers",
        "at least one number",
    ),
    ("calendar: builtin", "calendar: outlook", "tenant.calendar.kind", "'builtin' or 'google'"),
    (
        "calendar: builtin",
        "calendar: {kind: google, credentials_file: sa.json}",
        "tenant.calendar",
        "needs calendar_id and credentials_file",
    ),
    (
        "calendar: builtin",
        "calendar: {kind: google, calendar_id: c@x, credentials_file: missing.json}",
        "tenant.calendar.credentials_file",
        "file not found",
    ),
    (
        "calendar: builtin",
        "calendar: {kind: builtin, calendar_id: c@x}",
        "tenant.calendar",
        "are for kind: google",
    ),
    ("languages: [en]", "languages: [xx]", "tenant.languages[0]", "unknown language 'xx'"),
    ("languages: [en]", "languages: [en, en]", "tenant.languages", "twice"),
    ("languages: [en]", "languages: []", "tenant.languages", "at least 1 item"),
    ("languages: [en]", "languages: [English]", "tenant.languages[0]", "should match pattern"),
    (
        "languages: [en]",
        "languages: [en]\n  retention: {transcripts_days: 0}",
        "tenant.retention.transcripts_days",
        "greater than or equal to 1",
    ),
    (
        "languages: [en]",
        "languages: [en]\n  owner_pin_hash: md5$abc$def",
        "tenant.owner_pin_hash",
        "scrypt$<salt>$<hash>",
    ),
    (
        "languages: [en]",
        "languages: [en]\n  owner_pin_hash: scrypt$short$hash",
        "tenant.owner_pin_hash",
        "scrypt$<salt>$<hash>",
    ),
    (
        "languages: [en]",
        'languages: [en]\n  owner_pin_hash: "48213579"',
        "tenant.owner_pin_hash",
        "plain PIN",
    ),
    (
        "languages: [en]",
        "languages: [en]\n  owner_pin_hash: 48213579",
        "tenant.owner_pin_hash",
        "plain PIN",
    ),
    (
        "languages: [en]",
        "languages: [en]\n  owner: {phones: []}",
        "tenant.owner.phones",
        "at least 1 item",
    ),
    ("languages: [en]", "languages: [en]\n  colour: blue", "tenant.colour", "not permitted"),
    ("enabled: true", "enabled: perhaps", "tenant.enabled", "valid boolean"),
]


@pytest.mark.parametrize(("old", "new", "field", "reason"), INVALID)
def test_invalid_tenant_names_the_file_and_the_field(tmp_path, old, new, field, reason):
    text = shop()
    assert old in text
    path = write(tmp_path, "shop.yaml", text.replace(old, new, 1))
    with pytest.raises(TenantError) as caught:
        load_tenant(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"tenant file {path}: ")
    assert f"field '{field}'" in message
    assert reason in message
    assert "48213579" not in message  # a PIN written in the wrong place is never echoed


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tenant: [unclosed\n", "not valid YAML at line"),
        ("just words\n", "expected a mapping"),
        (
            shop(profile="/nowhere/x.yaml"),
            "field 'profile': business profile /nowhere/x.yaml: file not found",
        ),
        (shop(profile="no_such_shipped_profile"), "file not found"),
        (shop().replace("profile: ", "business: {}\nprofile: "), "not both"),
        ("\n".join(shop().splitlines()[:-1]) + "\n", "needs `profile:`"),
        (shop() + "extra: 1\n", "field 'extra': Extra inputs are not permitted"),
    ],
)
def test_unreadable_or_incomplete_tenant_files(tmp_path, text, reason):
    path = write(tmp_path, "shop.yaml", text)
    with pytest.raises(TenantError) as caught:
        load_tenant(path)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_an_inline_profile_error_names_the_business_field(tmp_path):
    text = inline_dental().replace("Europe/London", "Mars/Olympus")
    with pytest.raises(
        TenantError, match=r"field 'business\.timezone': 'Mars/Olympus' is not an IANA"
    ):
        load_tenant(write(tmp_path, "dental.yaml", text))


def test_a_referenced_profile_error_names_both_files(tmp_path):
    bad = write(tmp_path, "bad_profile.yaml", PLUMBING.read_text().replace("+18605550100", "12"))
    with pytest.raises(TenantError) as caught:
        load_tenant(write(tmp_path, "shop.yaml", shop(profile="bad_profile.yaml")))
    assert f"tenant file {tmp_path / 'shop.yaml'}: field 'profile': business profile {bad}" in str(
        caught.value
    )
    assert "field 'phone'" in str(caught.value)


@pytest.mark.parametrize("stem", ["Shop", "my shop", "a" * 41, "café"])
def test_the_file_name_is_the_id_and_must_be_a_slug(tmp_path, stem):
    path = write(tmp_path, f"{stem}.yaml", shop())
    with pytest.raises(TenantError, match="file name .* is the tenant id"):
        load_tenant(path)


def test_the_same_number_in_two_tenants_names_both(tmp_path):
    write(tmp_path, "alpha.yaml", shop())
    # The same number written another way, and on another channel.
    other = shop(profile=DENTAL).replace(
        '    voice: ["+18605550170"]\n    sms: ["+18605550170"]',
        '    voice: ["+18605550171"]\n    whatsapp: ["+1 (860) 555-0170"]',
    )
    write(tmp_path, "beta.yaml", other)
    found = scan(tmp_path)
    assert found.errors == (
        f"tenant file {tmp_path / 'beta.yaml'}: field 'tenant.numbers': +18605550170 is already "
        f"claimed by tenant 'alpha' ({tmp_path / 'alpha.yaml'})",
    )
    with pytest.raises(TenantError, match="already claimed by tenant 'alpha'"):
        TenantRegistry.from_folder(tmp_path)
    alpha, beta = found.tenants
    with pytest.raises(TenantError, match="already claimed"):
        TenantRegistry([alpha, beta])


def test_duplicate_ids_and_empty_or_missing_folders(tmp_path):
    write(tmp_path, "shop.yaml", shop())
    write(tmp_path, "shop.yml", shop().replace("555017", "555018"))
    assert scan(tmp_path).errors == (
        f"tenant file {tmp_path / 'shop.yml'}: duplicate tenant id 'shop' (also {tmp_path / 'shop.yaml'})",
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty, "notes.txt", "not a tenant")
    with pytest.raises(TenantError, match="no tenant files"):
        TenantRegistry.from_folder(empty)
    with pytest.raises(TenantError, match="not found"):
        TenantRegistry.from_folder(tmp_path / "absent")


def test_every_problem_in_a_folder_is_reported_once(tmp_path):
    write(tmp_path, "a.yaml", shop().replace("languages: [en]", "languages: [xx]"))
    write(tmp_path, "b.yaml", shop().replace("calendar: builtin", "calendar: outlook"))
    write(tmp_path, "c.yaml", shop(profile=DENTAL).replace("555017", "555019"))
    found = scan(tmp_path)
    assert [line.split(":")[0] for line in found.errors] == [
        f"tenant file {tmp_path / 'a.yaml'}",
        f"tenant file {tmp_path / 'b.yaml'}",
    ]
    assert [t.id for t in found.tenants] == ["c"]
    with pytest.raises(TenantError, match=r"a\.yaml: .* \(and 1 more problem\)$"):
        found.raise_first()


# ---- resolution -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written", ["+1 (860) 555-0170", "+18605550170", " +1 860 555 0170 ", "+1-860-555-0170"]
)
@pytest.mark.parametrize("asked", ["+18605550170", "+1 (860) 555-0170", "+1.860.555.0170"])
def test_numbers_are_compared_in_e164(tmp_path, written, asked):
    text = shop().replace('voice: ["+18605550170"]', f'voice: ["{written}"]')
    registry = TenantRegistry.from_folder(write(tmp_path, "shop.yaml", text).parent)
    assert registry.get("shop").numbers.voice == ("+18605550170",)
    assert registry.for_number(asked).id == "shop"


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "anonymous", "8605550170", "client:alice", "+1860555017", "+18605550199"],
)
def test_unknown_or_malformed_numbers_resolve_to_nobody(folder, raw):
    assert TenantRegistry.from_folder(folder).for_number(raw) is None


def test_a_number_resolves_only_on_its_channels(folder):
    registry = TenantRegistry.from_folder(folder)
    assert registry.for_number("+442079460100", "whatsapp").id == "dental"
    assert registry.for_number("whatsapp:+442079460100", "whatsapp").id == "dental"
    assert registry.for_number("whatsapp:+442079460100", "voice") is None
    assert registry.for_number("+442079460100", "sms") is None  # dental lists no sms number
    assert registry.for_number("+18605550170", "whatsapp") is None
    assert registry.numbers("whatsapp") == {"+442079460100"}
    assert registry.numbers("sms") == {"+18605550170"}
    with pytest.raises(ValueError, match="unknown channel"):
        registry.for_number("+18605550170", "fax")  # type: ignore[arg-type]


def test_a_disabled_tenant_never_resolves_but_its_numbers_stay_known(folder):
    disabled = shop().replace("enabled: true", "enabled: false")
    write(folder, "shop.yaml", disabled)
    registry = TenantRegistry.from_folder(folder)
    assert registry.for_number("+18605550170") is None
    assert registry.for_number("+18605550170", "sms") is None
    assert registry.get("shop").enabled is False
    assert [t.id for t in registry.enabled()] == ["dental"]
    assert "+18605550170" in registry.numbers()


# ---- owner PIN --------------------------------------------------------------------------------


def test_pin_hashes_are_salted_and_verify_only_the_right_pin():
    first, second = hash_pin("48213579"), hash_pin("48213579")
    assert first != second and is_pin_hash(first) and is_pin_hash(second)
    assert verify_pin("48213579", first) and verify_pin("48213579", second)
    for wrong in ("48213578", "4821357", "482135790", "", "48213579#", "４８２１３５７９"):
        assert not verify_pin(wrong, first)
    assert not verify_pin("48213579", first[:-1] + ("A" if first[-1] != "A" else "B"))
    assert not verify_pin("48213579", "48213579")  # a plain PIN is not a hash
    for bad in ("123", "123456789", "12a4", ""):
        with pytest.raises(ValueError):
            hash_pin(bad)


def test_a_tenant_keeps_only_the_hash_and_never_shows_it(tmp_path):
    pin_hash = hash_pin("48213579")
    text = shop().replace("languages: [en]", f"languages: [en]\n  owner_pin_hash: {pin_hash}")
    tenant = load_tenant(write(tmp_path, "shop.yaml", text))
    assert tenant.verify_pin("48213579") and not tenant.verify_pin("48213570")
    assert tenant.owner_mode_enabled
    assert pin_hash not in repr(tenant) and "48213579" not in repr(tenant)


# ---- zero configuration: one tenant from BUSINESS_PROFILE -------------------------------------


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_without_tenant_files_one_tenant_answers_todays_numbers():
    current = settings(
        business_profile=PLUMBING, twilio_phone_number="+1 (860) 555-0199", owner_pin="48213579"
    )
    registry = TenantRegistry.from_settings(current)
    (tenant,) = registry.all()
    profile = load_profile(PLUMBING)
    assert tenant.id == "bristol_plumbing" and tenant.profile == profile
    # Exactly the numbers a call or text was accepted on before tenants: both, normalised.
    today = frozenset({"+18605550199", "+18605550100"})
    assert registry.numbers() == today
    assert registry.numbers("voice") == registry.numbers("sms") == today
    assert registry.numbers("whatsapp") == frozenset()
    for number in today:
        assert registry.for_number(number) is tenant
        assert registry.for_number(number, "sms") is tenant
    assert tenant.calendar == BuiltinCalendar()
    assert tenant.owner_numbers == ("+18605550111",) and tenant.backup_numbers == ("+18605550122",)
    assert tenant.languages == ("en",) and tenant.enabled
    assert tenant.owner_pin_hash != "48213579" and is_pin_hash(tenant.owner_pin_hash)
    assert tenant.verify_pin("48213579") and not tenant.verify_pin("48213570")


def test_zero_configuration_follows_the_other_settings(tmp_path):
    key = write(tmp_path, "sa.json", "{}")
    tenant = single_tenant(
        settings(
            business_profile=DENTAL,
            google_calendar_id="bookings@group.calendar.google.com",
            google_service_account_file=key,
        )
    )
    assert tenant.id == "riverside_dental"
    assert tenant.calendar == GoogleCalendar("bookings@group.calendar.google.com", key)
    assert tenant.numbers.voice == ("+442079460100",)  # no TWILIO_PHONE_NUMBER: the profile's
    assert tenant.owner_pin_hash is None and not tenant.verify_pin("1234")
    # Not a number: left out rather than refused.
    odd = single_tenant(settings(business_profile=DENTAL, twilio_phone_number="not-a-number"))
    assert odd.numbers.voice == ("+442079460100",)
    oddly_named = write(tmp_path, "My Shop.yaml", PLUMBING.read_text())
    assert single_tenant(settings(business_profile=oddly_named)).id == "my-shop"


def test_tenants_dir_takes_over_from_business_profile(folder):
    registry = TenantRegistry.from_settings(settings(tenants_dir=str(folder)))
    assert [t.id for t in registry.all()] == ["dental", "shop"]
    assert settings(tenants_dir="").tenants_dir is None
    assert settings(tenants_dir="  ").tenants_dir is None


def test_tenant_code_imports_no_web_or_pipecat_code():
    probe = (
        "import sys, bot.tenants, bot.tenants.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fastapi', 'starlette', 'pipecat', 'aiosqlite', 'httpx', 'twilio', 'uvicorn'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---- the command line ---------------------------------------------------------------------------


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot.tenants ARGS` in its own process, with no .env and no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "bot.tenants", *args],
        cwd=cwd,  # no developer .env is read
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_list_and_check(tmp_path, folder):
    listed = cli(tmp_path, "--dir", str(folder), "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "ID      ENABLED  NUMBERS",
        "dental  yes      +442079460100 (voice+whatsapp)",
        "shop    yes      +18605550170 (voice+sms)",
    ]
    checked = cli(tmp_path, "check", TENANTS_DIR=str(folder))
    assert (checked.returncode, checked.stderr) == (0, "")
    assert checked.stdout == f"ok: 2 tenants (2 enabled), 2 numbers, in {folder}\n"

    write(folder, "copy.yaml", shop(profile=DENTAL))  # claims shop's number
    write(folder, "bad.yaml", shop().replace("languages: [en]", "languages: [xx]"))
    failed = cli(tmp_path, "check", "--dir", str(folder))
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.splitlines() == [
        f"tenant file {folder / 'bad.yaml'}: field 'tenant.languages[0]': unknown language 'xx'; "
        "the receptionist speaks: en",
        f"tenant file {folder / 'shop.yaml'}: field 'tenant.numbers': +18605550170 is already "
        f"claimed by tenant 'copy' ({folder / 'copy.yaml'})",
        f"check failed: 2 problems in {folder}",
    ]
    relisted = cli(tmp_path, "list", "--dir", str(folder))
    assert relisted.returncode == 1 and "bad.yaml" in relisted.stderr
    assert [line.split()[0] for line in relisted.stdout.splitlines()] == [
        "ID",
        "copy",
        "dental",
        "shop",
    ]

    nowhere = cli(tmp_path, "check")
    assert nowhere.returncode == 2
    assert nowhere.stderr == "check: no tenants folder: pass --dir or set TENANTS_DIR\n"


def test_cli_add_writes_a_file_that_loads_and_holds_no_plain_pin(tmp_path, folder):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    added = cli(
        tmp_path,
        "--dir",
        str(folder),
        "add",
        "new_shop",
        "--profile",
        str(PLUMBING),
        "--number",
        "+1 (860) 555-0177",
        "--whatsapp-number",
        "+18605550178",
        "--pin-from-env",
        "SHOP_PIN",
        SHOP_PIN="48213579",
    )
    assert added.returncode == 0, added.stderr
    path = folder / "new_shop.yaml"
    assert added.stdout == (
        f"added tenant 'new_shop' ({path}): +18605550177 (voice+sms), +18605550178 (whatsapp); "
        "owner PIN set\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tenant = load_tenant(path)
    assert tenant.numbers == Numbers(("+18605550177",), ("+18605550177",), ("+18605550178",))
    assert tenant.profile == load_profile(PLUMBING) and tenant.enabled
    assert tenant.verify_pin("48213579")
    text = path.read_text()
    assert "48213579" not in text.replace(tenant.owner_pin_hash or "", "")
    assert yaml.safe_load(text)["profile"] == os.path.relpath(PLUMBING, folder)  # portable
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p != path} == before
    assert TenantRegistry.from_folder(folder).for_number("+18605550177").id == "new_shop"
    assert cli(tmp_path, "check", "--dir", str(folder)).returncode == 0


def test_cli_add_refuses_a_taken_number_or_id_and_writes_nothing(tmp_path, folder):
    before = sorted(folder.iterdir())
    taken = cli(
        tmp_path, "add", "other", "--dir", str(folder), "--profile", "riverside_dental",
        "--number", "+1 860 555 0170", "--no-pin",
    )  # fmt: skip
    assert taken.returncode == 1
    assert taken.stderr.splitlines() == [
        f"tenant file {folder / 'other.yaml'}: field 'tenant.numbers': +18605550170 is already "
        f"claimed by tenant 'shop' ({folder / 'shop.yaml'})",
        "add: tenant 'other' not added; nothing written",
    ]
    again = cli(
        tmp_path, "add", "shop", "--dir", str(folder), "--profile", "riverside_dental",
        "--number", "+18605550190", "--no-pin",
    )  # fmt: skip
    assert again.returncode == 1
    assert (
        again.stderr
        == f"add: tenant 'shop' already exists ({folder / 'shop.yaml'}); nothing written\n"
    )
    assert sorted(folder.iterdir()) == before


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        ([], {}, 2, "add: no PIN: pass --pin-from-env VAR, or --no-pin"),
        (["--pin-from-env", "NOT_SET"], {}, 2, "add: environment variable NOT_SET is not set"),
        (["--pin-from-env", "PIN"], {"PIN": "12ab"}, 1, "add: an owner PIN is 4 to 8 digits"),
        (["--pin-from-env", "PIN"], {"PIN": "123"}, 1, "add: an owner PIN is 4 to 8 digits"),
        (["--no-pin", "--number", "860-555-0190"], {}, 2, "add: --number 860-555-0190: must be"),
        (["--no-pin", "--language", "xx"], {}, 1, "unknown language 'xx'"),
        (["--no-pin", "--google-calendar", "c@x"], {}, 2, "go together"),
    ],
)
def test_cli_add_refusals(tmp_path, folder, monkeypatch, capsys, args, env, code, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TENANTS_DIR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    base = ["--dir", str(folder), "add", "fresh", "--profile", "bristol_plumbing"]
    number = [] if "--number" in args else ["--number", "+18605550190"]
    assert main([*base, *number, *args]) == code
    assert message in capsys.readouterr().err
    assert not (folder / "fresh.yaml").exists()


def test_cli_add_creates_a_new_folder(tmp_path):
    target = tmp_path / "new" / "tenants"
    done = cli(
        tmp_path, "add", "shop", "--dir", str(target), "--profile", "bristol_plumbing",
        "--number", "+18605550100", "--no-pin",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    tenant = TenantRegistry.from_folder(target).get("shop")
    assert tenant.owner_pin_hash is None and tenant.profile.name == "Bristol Plumbing"


def test_cli_disable_and_enable_change_one_value_and_keep_the_rest(tmp_path, folder):
    path = folder / "shop.yaml"
    original = path.read_text()
    disabled = cli(tmp_path, "disable", "shop", "--dir", str(folder))
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout == (
        f"tenant 'shop' disabled ({path}); takes effect when the server next starts\n"
    )
    assert path.read_text() == original.replace(
        "enabled: true   # trailing comment", "enabled: false   # trailing comment"
    )
    assert TenantRegistry.from_folder(folder).for_number("+18605550170") is None
    again = cli(tmp_path, "disable", "shop", "--dir", str(folder))
    assert (again.returncode, again.stdout) == (
        0,
        "tenant 'shop' is already disabled; nothing written\n",
    )
    enabled = cli(tmp_path, "enable", "shop", "--dir", str(folder))
    assert enabled.returncode == 0 and path.read_text() == original
    missing = cli(tmp_path, "disable", "nobody", "--dir", str(folder))
    assert missing.returncode == 1
    assert missing.stderr == f"disable: no tenant 'nobody' in {folder}\n"


def test_cli_disable_adds_the_field_when_the_file_has_none(tmp_path, folder, monkeypatch, capsys):
    path = folder / "dental.yaml"
    original = path.read_text()
    assert "enabled" not in original
    monkeypatch.chdir(tmp_path)
    assert main(["--dir", str(folder), "disable", "dental"]) == 0
    edited = path.read_text()
    assert edited.replace("  enabled: false\n", "", 1) == original
    assert load_tenant(path).enabled is False


def test_cli_set_pin_replaces_the_hash(tmp_path, folder):
    first = cli(
        tmp_path, "set-pin", "shop", "--dir", str(folder), "--pin-from-env", "P", P="48213579"
    )
    assert first.returncode == 0, first.stderr
    old_hash = load_tenant(folder / "shop.yaml").owner_pin_hash
    second = cli(
        tmp_path, "set-pin", "shop", "--dir", str(folder), "--pin-from-env", "P", P="97531"
    )
    assert second.returncode == 0, second.stderr
    tenant = load_tenant(folder / "shop.yaml")
    assert tenant.owner_pin_hash != old_hash
    assert tenant.verify_pin("97531") and not tenant.verify_pin("48213579")
    text = (folder / "shop.yaml").read_text()
    assert text.startswith("# A comment that edits must keep.\n")
    assert text.count("owner_pin_hash:") == 1
    no_terminal = cli(tmp_path, "set-pin", "shop", "--dir", str(folder))
    assert no_terminal.returncode == 2 and "no PIN: pass --pin-from-env VAR" in no_terminal.stderr


def test_tenant_model_is_frozen():
    tenant = Tenant(
        id="x", profile=load_profile(PLUMBING), numbers=Numbers(voice=("+18605550100",))
    )
    with pytest.raises(AttributeError):
        tenant.enabled = False  # type: ignore[misc]


def test_cli_add_asks_for_the_pin_on_a_terminal_without_echo(tmp_path):
    """The prompt path: getpass on a real pseudo-terminal, asked twice, never echoed."""
    pty = pytest.importorskip("pty")
    target = tmp_path / "tenants"
    argv = [sys.executable, "-m", "bot.tenants", "--dir", str(target), "add", "shop"]
    argv += ["--profile", "bristol_plumbing", "--number", "+18605550100"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, with the pseudo-terminal as its stdin and stdout
        try:
            os.chdir(tmp_path)
            os.environ["PYTHONPATH"] = str(ROOT)
            os.execv(sys.executable, argv)
        finally:
            os._exit(127)  # never back into pytest
    seen = b""
    try:
        while chunk := os.read(fd, 1024):
            seen += chunk
            if seen.endswith((b"owner mode): ", b"Again: ")):
                os.write(fd, b"48213579\n")
    except OSError:  # the child closed the terminal
        pass
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"Again: " in seen and b"owner PIN set" in seen
    assert b"48213579" not in seen
    assert load_tenant(target / "shop.yaml").verify_pin("48213579")


def test_cli_add_with_a_google_calendar(tmp_path, folder, monkeypatch, capsys):
    key = write(tmp_path / "keys", "sa.json", "{}")
    monkeypatch.chdir(tmp_path)
    args = ["--dir", str(folder), "add", "cal", "--profile", str(DENTAL), "--no-pin"]
    args += ["--number", "+442079460155", "--google-calendar", "c@group.calendar.google.com"]
    assert main([*args, "--google-credentials", "keys/sa.json"]) == 0, capsys.readouterr().err
    tenant = load_tenant(folder / "cal.yaml")
    assert tenant.calendar == GoogleCalendar(
        "c@group.calendar.google.com", folder / "../keys/sa.json"
    )
    assert tenant.calendar.credentials_file.resolve() == key
    assert tenant.languages == ("en",) and tenant.owner_pin_hash is None


def test_a_blank_google_key_setting_is_unset_so_the_builtin_calendar_is_used():
    current = settings(
        business_profile=PLUMBING,
        google_calendar_id="x@group.calendar.google.com",
        google_service_account_file="",
    )
    assert current.google_service_account_file is None
    assert not current.providers["google_calendar"]
    assert single_tenant(current).calendar == BuiltinCalendar()
