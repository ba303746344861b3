"""The business profile: who the business is, when it is open, what it sells, what it knows.

A profile is a YAML file. It is validated once at start-up; a wrong file gives one clear message
that names the field (`ProfileError`), never a traceback. The system prompt and the tools read
the same `BusinessProfile` object, so what the bot says and what the tools do cannot drift apart.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ProfileError(Exception):
    """The business profile file is missing, unreadable or invalid."""


def to_e164(value: str, region: str | None = None) -> str:
    """Normalise a phone number to E.164, or raise ValueError with a speakable reason."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("is not a phone number") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _e164(value: str) -> str:
    if not value.startswith("+"):
        raise ValueError("must be in E.164 form, starting with + and the country code")
    return to_e164(value)


Phone = Annotated[str, AfterValidator(_e164)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _parse_hhmm(value: str) -> time:
    match = _HHMM.match(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a 24-hour time like 08:30")
    return time(int(match.group(1)), int(match.group(2)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpeningWindow(_Strict):
    """One open interval within a day, in the business's local time."""

    open: time
    close: time

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, dict | OpeningWindow):
            return value
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"open": _parse_hhmm(str(value[0])), "close": _parse_hhmm(str(value[1]))}
        if isinstance(value, str) and "-" in value:
            start, end = value.split("-", 1)
            return {"open": _parse_hhmm(start), "close": _parse_hhmm(end)}
        raise ValueError("must be a range like '08:00-17:00'")

    @model_validator(mode="after")
    def _ordered(self) -> OpeningWindow:
        if self.close <= self.open:
            raise ValueError("closing time must be after opening time")
        return self


class Service(_Strict):
    """Something the business books, with its default duration."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    duration_minutes: Annotated[int, Field(ge=5, le=12 * 60)]
    description: str = ""


class FaqEntry(_Strict):
    """A question callers ask, with the business's own answer."""

    question: Annotated[str, Field(min_length=3)]
    answer: Annotated[str, Field(min_length=1)]


class Document(_Strict):
    """Free text the bot may answer from: prices, service area, insurance, parking."""

    title: Annotated[str, Field(min_length=1)]
    text: Annotated[str, Field(min_length=1)]


class Emergency(_Strict):
    """What counts as an emergency and what the bot says when one is detected."""

    keywords: Annotated[list[str], Field(min_length=1)]
    life_threatening: list[str] = []
    emergency_number: Annotated[str, Field(pattern=r"^[0-9]{2,4}$")]
    script: Annotated[str, Field(min_length=1)]
    life_threatening_script: Annotated[str, Field(min_length=1)]


class Owner(_Strict):
    """The people who run the business; they get alerts and can ask about the schedule."""

    name: str = "the owner"
    phones: Annotated[list[Phone], Field(min_length=1)]
    backup_phones: list[Phone] = []


class Scheduling(_Strict):
    """Rules for offering appointment slots."""

    slot_step_minutes: Annotated[int, Field(ge=5, le=240)] = 30
    buffer_minutes: Annotated[int, Field(ge=0, le=240)] = 0
    min_notice_minutes: Annotated[int, Field(ge=0)] = 60
    max_days_ahead: Annotated[int, Field(ge=1, le=365)] = 30


class Transfer(_Strict):
    """Where a live transfer goes, and when it is allowed (defaults to opening hours)."""

    number: Phone
    hours: dict[str, list[OpeningWindow]] | None = None


class BusinessProfile(_Strict):
    """Everything the receptionist knows about one business."""

    name: Annotated[str, Field(min_length=1, max_length=80)]
    kind: Annotated[str, Field(min_length=1)]
    timezone: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    # Countries (ISO codes) whose phones may get booking texts; unset: `country` alone.
    sms_countries: Annotated[list[CountryCode], Field(min_length=1)] | None = None
    phone: Phone
    address: Annotated[str, Field(min_length=1)]
    service_area: str = ""
    hours: dict[str, list[OpeningWindow]]
    blackout_dates: list[date] = []
    services: Annotated[list[Service], Field(min_length=1)]
    default_service: str
    scheduling: Scheduling = Scheduling()
    greeting: Annotated[str, Field(min_length=1, max_length=400)]
    goodbye: Annotated[str, Field(min_length=1, max_length=200)]
    faq: list[FaqEntry] = []
    documents: list[Document] = []
    emergency: Emergency
    owner: Owner
    transfer: Transfer | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"'{value}' is not an IANA time zone like America/New_York") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _weekdays(cls, value: dict[str, list[OpeningWindow]]) -> dict[str, list[OpeningWindow]]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday '{unknown[0]}'; use {', '.join(WEEKDAYS)}")
        for day, windows in value.items():
            ordered = sorted(windows, key=lambda w: w.open)
            for earlier, later in zip(ordered, ordered[1:], strict=False):
                if later.open < earlier.close:
                    raise ValueError(f"{day} has overlapping opening windows")
        return {day: sorted(value.get(day, []), key=lambda w: w.open) for day in WEEKDAYS}

    @field_validator("services")
    @classmethod
    def _unique_service_ids(cls, value: list[Service]) -> list[Service]:
        ids = [s.id for s in value]
        if len(set(ids)) != len(ids):
            raise ValueError("two services share an id")
        return value

    @field_validator("default_service")
    @classmethod
    def _default_service_exists(cls, value: str, info: ValidationInfo) -> str:
        ids = [s.id for s in info.data.get("services", [])]
        if ids and value not in ids:
            raise ValueError(f"'{value}' is not one of the service ids: {', '.join(ids)}")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The business's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def sms_regions(self) -> list[str]:
        """Countries whose phone numbers may get customer texts (see `bot.sms_policy`)."""
        return list(self.sms_countries) if self.sms_countries else [self.country]

    def service(self, service_id: str) -> Service | None:
        """The service with this id, if any."""
        return next((s for s in self.services if s.id == service_id), None)

    def is_owner_number(self, number: str | None) -> bool:
        """True if the caller ID is one of the owner's numbers (not proof of identity)."""
        return bool(number) and number in self.owner.phones


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def load_profile(path: Path) -> BusinessProfile:
    """Read and validate a profile; raise `ProfileError` with one readable line on failure."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"business profile {path}: file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ProfileError(f"business profile {path}: not valid YAML{where}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"business profile {path}: expected a mapping of fields at top level")
    try:
        return BusinessProfile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(f"business profile {path}: {validation_summary(exc)}") from None


def validation_summary(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> str:
    """The first problem as "field 'a.b[0]': reason", plus how many more; never the bad value.

    `prefix` is prepended to the field path (a profile nested under `business:` in a tenant file).
    """
    first = exc.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"field '{_field_path(prefix + tuple(first['loc']))}': {message}{suffix}"
