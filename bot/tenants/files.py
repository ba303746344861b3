"""Tenant files: a folder of `<id>.yaml`, each one business, validated together at start-up.

A file holds a `tenant:` section and the business profile, either as a reference
(`profile: ../profiles/x.yaml`, relative to the file, or the name of a shipped profile such as
`bristol_plumbing`) or inline (`business:` with the fields a profile file has):

    tenant:
      numbers: {voice: ["+18605550100"], sms: ["+18605550100"]}
      calendar: builtin              # or {kind: google, calendar_id: ..., credentials_file: ...}
      owner_pin_hash: scrypt$...$... # `python -m bot.tenants set-pin <id>` writes it
      languages: [en]                # the first is the greeting's
      retention: {transcripts_days: 90, messages_days: 365, audit_days: 365}
      enabled: true
    profile: ../profiles/bristol_plumbing.yaml

Invariants:
- every problem is one line naming the file and the field (`TenantError`, a `ProfileError`, so
  start-up reports it the same way), and never echoes a PIN or a PIN hash;
- numbers are compared in E.164 (`+1 (860) 555-0111` is `+18605550111`), and a number belongs to
  one tenant only, whatever its channels: a second claim names both files;
- relative paths (profile, credentials file) are read from the tenant file's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.profile import (
    BusinessProfile,
    Owner,
    Phone,
    ProfileError,
    load_profile,
    to_e164,
    validation_summary,
)
from bot.tenants.model import (
    CHANNELS,
    TENANT_ID,
    BuiltinCalendar,
    CalendarSettings,
    GoogleCalendar,
    Numbers,
    Retention,
    Tenant,
)
from bot.tenants.pins import PIN_PATTERN, is_pin_hash
from bot.triage import SUPPORTED_LANGUAGES

SHIPPED_PROFILES = Path(__file__).resolve().parent.parent / "profiles"
SUFFIXES = (".yaml", ".yml")


class TenantError(ProfileError):
    """A tenant file or the tenants folder is missing, unreadable or invalid (one line)."""


def business_number(value: object) -> str:
    """A Twilio number in E.164; raises ValueError saying what is wrong (not the value)."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError('must be in quotes, like "+18605550100" (unquoted, YAML reads a number)')
    if not isinstance(value, str) or not value.strip().startswith("+"):
        raise ValueError(
            "must be a phone number in E.164 form, starting with + and the country code"
        )
    return to_e164(value.strip())


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _language(value: str) -> str:
    base = value.split("-", 1)[0]
    if base not in SUPPORTED_LANGUAGES:
        raise ValueError(
            f"unknown language '{value}'; the receptionist speaks: {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return value


NumberList = Annotated[
    list[Annotated[object, AfterValidator(business_number)]], BeforeValidator(_one_or_many)
]
LanguageCode = Annotated[
    str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"), AfterValidator(_language)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumbersSection(_Strict):
    """`tenant.numbers`: channel -> numbers (a single number may be written without a list)."""

    voice: NumberList = []
    sms: NumberList = []
    whatsapp: NumberList = []

    @model_validator(mode="before")
    @classmethod
    def _known_channels(cls, value: object) -> object:
        if isinstance(value, dict):
            unknown = sorted(str(key) for key in value if key not in CHANNELS)
            if unknown:
                raise ValueError(f"unknown channel '{unknown[0]}'; use {', '.join(CHANNELS)}")
        return value

    @model_validator(mode="after")
    def _some_unique(self) -> NumbersSection:
        if not (self.voice or self.sms or self.whatsapp):
            raise ValueError("needs at least one number (voice, sms or whatsapp)")
        for channel in CHANNELS:
            listed = getattr(self, channel)
            twice = next((n for i, n in enumerate(listed) if n in listed[:i]), None)
            if twice:
                raise ValueError(f"{channel} lists {twice} twice")
        return self


class CalendarSection(_Strict):
    """`tenant.calendar`: `builtin`, or `google` with the calendar's id and a key file."""

    kind: Literal["builtin", "google"] = "builtin"
    calendar_id: Annotated[str, Field(min_length=1)] | None = None
    credentials_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> CalendarSection:
        if self.kind == "google" and (not self.calendar_id or self.credentials_file is None):
            raise ValueError("a google calendar needs calendar_id and credentials_file")
        if self.kind == "builtin" and (self.calendar_id or self.credentials_file):
            raise ValueError("calendar_id and credentials_file are for kind: google")
        return self


class OwnerSection(_Strict):
    """`tenant.owner`: replaces the profile's owner numbers, field by field."""

    phones: Annotated[list[Phone], Field(min_length=1)] | None = None
    backup_phones: list[Phone] | None = None


class RetentionSection(_Strict):
    """`tenant.retention`: days each kind of record is kept."""

    transcripts_days: Annotated[int, Field(ge=1, le=36500)] = 90
    messages_days: Annotated[int, Field(ge=1, le=36500)] = 365
    audit_days: Annotated[int, Field(ge=1, le=36500)] = 365


class TenantSection(_Strict):
    """The `tenant:` section of a tenant file."""

    numbers: NumbersSection
    calendar: CalendarSection = CalendarSection()
    owner: OwnerSection | None = None
    owner_pin_hash: str | None = None
    languages: Annotated[list[LanguageCode], Field(min_length=1)] = ["en"]
    retention: RetentionSection = RetentionSection()
    enabled: bool = True

    @field_validator("owner_pin_hash", mode="before")
    @classmethod
    def _hash_only(cls, value: object) -> object:
        if value is None:
            return None
        digits = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(digits, str) and PIN_PATTERN.fullmatch(digits.strip()):
            raise ValueError(
                "holds a plain PIN; store only its hash (python -m bot.tenants set-pin <id>)"
            )
        if not isinstance(value, str) or not is_pin_hash(value):
            raise ValueError(
                "must be scrypt$<salt>$<hash> as `python -m bot.tenants set-pin <id>` writes it"
            )
        return value

    @field_validator("languages")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a language twice")
        return value


class TenantFile(_Strict):
    """A whole tenant file: the tenant section and the profile (a reference or inline)."""

    tenant: TenantSection
    profile: Annotated[str, Field(min_length=1)] | None = None
    business: dict[str, Any] | None = None


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise TenantError(f"{where}: not valid YAML{line}") from None
    if not isinstance(raw, dict):
        raise TenantError(f"{where}: expected a mapping with a `tenant:` section at top level")
    return raw


def profile_path(reference: str, folder: Path) -> Path:
    """Where `profile:` points: a path relative to the tenant file, or a shipped profile's name."""
    path = Path(reference).expanduser()
    if path.parent == Path(".") and path.suffix not in SUFFIXES:
        return SHIPPED_PROFILES / f"{reference}.yaml"
    return path if path.is_absolute() else folder / path


def _profile(file: TenantFile, raw: dict[str, Any], folder: Path, where: str) -> BusinessProfile:
    if file.profile is not None and file.business is not None:
        raise TenantError(
            f"{where}: field 'profile': give either `profile:` (a profile file) or `business:` "
            "(the profile inline), not both"
        )
    if file.profile is not None:
        try:
            return load_profile(profile_path(file.profile, folder))
        except ProfileError as exc:
            raise TenantError(f"{where}: field 'profile': {exc}") from None
    if file.business is None:
        raise TenantError(
            f"{where}: needs `profile:` (a profile file) or `business:` (the profile inline)"
        )
    try:
        return BusinessProfile.model_validate(raw["business"])
    except ValidationError as exc:
        raise TenantError(f"{where}: {validation_summary(exc, ('business',))}") from None


def _calendar(section: CalendarSection, folder: Path, where: str) -> CalendarSettings:
    if section.kind == "builtin":
        return BuiltinCalendar()
    assert section.calendar_id is not None and section.credentials_file is not None  # _complete
    credentials = section.credentials_file.expanduser()
    credentials = credentials if credentials.is_absolute() else folder / credentials
    if not credentials.is_file():
        raise TenantError(
            f"{where}: field 'tenant.calendar.credentials_file': file not found: {credentials}"
        )
    return GoogleCalendar(calendar_id=section.calendar_id, credentials_file=credentials)


def tenant_id_of(path: Path) -> str:
    """The tenant id a file gives (its stem); raises TenantError unless it is a slug."""
    if not TENANT_ID.fullmatch(path.stem):
        raise TenantError(
            f"tenant file {path}: the file name '{path.stem}' is the tenant id and must be "
            "1 to 40 of a-z, 0-9, _ and -"
        )
    return path.stem


def parse_tenant(text: str, path: Path) -> Tenant:
    """The tenant in `text`, read as if it were the file at `path`; raises TenantError."""
    where = f"tenant file {path}"
    tenant_id = tenant_id_of(path)
    raw = _read_yaml(text, where)
    try:
        file = TenantFile.model_validate(raw)
    except ValidationError as exc:
        raise TenantError(f"{where}: {validation_summary(exc)}") from None
    folder = path.parent
    profile = _profile(file, raw, folder, where)
    section = file.tenant
    if section.owner is not None:
        owner = Owner(
            name=profile.owner.name,
            phones=section.owner.phones or profile.owner.phones,
            backup_phones=(
                profile.owner.backup_phones
                if section.owner.backup_phones is None
                else section.owner.backup_phones
            ),
        )
        profile = profile.model_copy(update={"owner": owner})
    numbers = section.numbers
    return Tenant(
        id=tenant_id,
        profile=profile,
        numbers=Numbers(
            voice=tuple(map(str, numbers.voice)),
            sms=tuple(map(str, numbers.sms)),
            whatsapp=tuple(map(str, numbers.whatsapp)),
        ),
        calendar=_calendar(section.calendar, folder, where),
        owner_pin_hash=section.owner_pin_hash,
        languages=tuple(section.languages),
        retention=Retention(**section.retention.model_dump()),
        enabled=section.enabled,
    )


def load_tenant(path: Path) -> Tenant:
    """Read and validate one tenant file (alone: numbers are checked against others by `scan`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TenantError(f"tenant file {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TenantError(f"tenant file {path}: cannot be read ({type(exc).__name__})") from None
    return parse_tenant(text, path)


@dataclass(frozen=True)
class Scan:
    """What a tenants folder holds: the tenants that loaded, and one line per problem."""

    tenants: tuple[Tenant, ...]
    paths: dict[str, Path]
    errors: tuple[str, ...]

    def raise_first(self) -> None:
        """Raise TenantError with the first problem (and how many more), if there is one."""
        if self.errors:
            more = len(self.errors) - 1
            suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise TenantError(self.errors[0] + suffix)


def tenant_files(folder: Path) -> list[Path]:
    """The folder's `*.yaml` and `*.yml` files, by name; hidden files are left out."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def scan(folder: Path, extra: Mapping[Path, str] = MappingProxyType({})) -> Scan:
    """Load every tenant file in `folder` and check them against each other.

    `extra` maps paths to texts read as if they were files there (a file about to be written),
    so a new tenant is checked exactly as start-up would check it. Files are read by name, and
    `extra` last: of two claims on one number, the later one is the error.
    """
    if not folder.is_dir():
        problem = "not found" if not folder.exists() else "not a folder"
        return Scan((), {}, (f"tenants folder {folder}: {problem}",))
    sources: dict[Path, str | None] = {p: None for p in tenant_files(folder) if p not in extra}
    sources.update(extra)
    if not sources:
        return Scan((), {}, (f"tenants folder {folder}: no tenant files (<id>.yaml)",))
    tenants: list[Tenant] = []
    paths: dict[str, Path] = {}
    errors: list[str] = []
    owners: dict[str, Tenant] = {}
    for path, text in sources.items():
        try:
            tenant = load_tenant(path) if text is None else parse_tenant(text, path)
        except TenantError as exc:
            errors.append(str(exc))
            continue
        if tenant.id in paths:
            errors.append(
                f"tenant file {path}: duplicate tenant id '{tenant.id}' (also {paths[tenant.id]})"
            )
            continue
        for number in sorted(tenant.numbers.all()):
            other = owners.get(number)
            if other is not None:
                errors.append(
                    f"tenant file {path}: field 'tenant.numbers': {number} is already claimed "
                    f"by tenant '{other.id}' ({paths[other.id]})"
                )
            else:
                owners[number] = tenant
        tenants.append(tenant)
        paths[tenant.id] = path
    return Scan(tuple(tenants), paths, tuple(errors))
