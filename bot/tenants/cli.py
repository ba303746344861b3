"""`python -m bot.tenants`: list, check, add, disable, enable and set-pin on a tenants folder.

    uv run python -m bot.tenants list                  # id, enabled, numbers by channel
    uv run python -m bot.tenants check                 # validate as start-up does
    uv run python -m bot.tenants add <id> --profile <file or name> --number +1...
        [--sms-number +1...] [--whatsapp-number +1...] [--language en]
        [--google-calendar ID --google-credentials FILE] [--pin-from-env VAR | --no-pin]
    uv run python -m bot.tenants disable <id>          # or enable <id>
    uv run python -m bot.tenants set-pin <id> [--pin-from-env VAR]

The folder is `--dir`, else `TENANTS_DIR`. A PIN is never an argument (it would stay in shell
history): it comes from the environment variable named by `--pin-from-env`, or from a prompt.
Changes take effect when the server next starts. Exit codes: 0 done, 1 refused or invalid (one
line per problem on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from bot.config import load_settings, secret_from_environment
from bot.tenants.edits import new_tenant_text, set_tenant_field, write_file
from bot.tenants.files import (
    SUFFIXES,
    TenantError,
    business_number,
    load_tenant,
    parse_tenant,
    scan,
    tenant_id_of,
)
from bot.tenants.model import (
    CHANNELS,
    BuiltinCalendar,
    CalendarSettings,
    GoogleCalendar,
    Numbers,
    Tenant,
)
from bot.tenants.pins import PIN_PATTERN, hash_pin

DONE, REFUSED, USAGE = 0, 1, 2


class Refused(Exception):
    """The command cannot do what was asked; the message is one line for stderr."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def _folder(args: argparse.Namespace) -> Path:
    folder: Path | None = args.dir if args.dir is not None else load_settings().tenants_dir
    if folder is None:
        raise Refused("no tenants folder: pass --dir or set TENANTS_DIR", USAGE)
    return folder


def _numbers_by_channel(tenant: Tenant) -> str:
    channels: dict[str, list[str]] = {}
    for channel in CHANNELS:
        for number in tenant.numbers.on(channel):
            channels.setdefault(number, []).append(channel)
    return ", ".join(f"{n} ({'+'.join(c)})" for n, c in channels.items())


def _list(folder: Path) -> int:
    found = scan(folder)
    if found.tenants:
        width = max(len("ID"), *(len(t.id) for t in found.tenants))
        _out(f"{'ID':<{width}}  ENABLED  NUMBERS")
        for tenant in found.tenants:
            enabled = "yes" if tenant.enabled else "no"
            _out(f"{tenant.id:<{width}}  {enabled:<7}  {_numbers_by_channel(tenant)}")
    for line in found.errors:
        _err(line)
    return REFUSED if found.errors else DONE


def _check(folder: Path) -> int:
    found = scan(folder)
    for line in found.errors:
        _err(line)
    if found.errors:
        count = len(found.errors)
        _err(f"check failed: {count} problem{'s' if count > 1 else ''} in {folder}")
        return REFUSED
    enabled = sum(t.enabled for t in found.tenants)
    numbers = len({n for t in found.tenants for n in t.numbers.all()})
    _out(f"ok: {len(found.tenants)} tenants ({enabled} enabled), {numbers} numbers, in {folder}")
    return DONE


def _pin_hash(args: argparse.Namespace, *, required: bool) -> str | None:
    """A hash of the PIN from the named environment variable or a prompt; None for no PIN."""
    if args.pin_from_env:
        secret = secret_from_environment(args.pin_from_env)
        if secret is None:
            raise Refused(f"environment variable {args.pin_from_env} is not set", USAGE)
        pin = secret.get_secret_value().strip()
    elif getattr(args, "no_pin", False):
        return None
    elif sys.stdin.isatty():
        hint = "" if required else " (empty: no owner mode)"
        pin = getpass.getpass(f"Owner PIN, 4 to 8 digits{hint}: ").strip()
        if not pin and not required:
            return None
        if getpass.getpass("Again: ").strip() != pin:
            raise Refused("the two PINs differ; nothing written")
    else:
        extra = "" if required else ", or --no-pin for a tenant without owner mode"
        raise Refused(f"no PIN: pass --pin-from-env VAR{extra} (no terminal to ask)", USAGE)
    if not PIN_PATTERN.fullmatch(pin):
        raise Refused("an owner PIN is 4 to 8 digits (typed on the keypad, then #)")
    return hash_pin(pin)


def _existing(folder: Path, tenant_id: str) -> Path | None:
    return next((p for s in SUFFIXES if (p := folder / f"{tenant_id}{s}").exists()), None)


def _numbers(values: list[str] | None, flag: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or []:
        try:
            number = business_number(value)
        except ValueError as exc:
            raise Refused(f"{flag} {value}: {exc}", USAGE) from None
        if number not in out:
            out.append(number)
    return tuple(out)


def _profile_reference(raw: str, folder: Path) -> str:
    """The `profile:` value: a shipped profile's name as is, a path relative to the folder."""
    path = Path(raw).expanduser()
    if path.parent == Path(".") and path.suffix not in SUFFIXES:
        return raw
    return _relative(path, folder)


def _relative(path: Path, folder: Path) -> str:
    """`path` (relative to the current folder) as the tenant file reads it: from `folder`."""
    return os.path.relpath(path.expanduser().resolve(), folder.resolve())


def _add(args: argparse.Namespace, folder: Path) -> int:
    target = folder / f"{args.id}.yaml"
    tenant_id_of(target)
    existing = _existing(folder, args.id)
    if existing is not None:
        raise Refused(f"tenant '{args.id}' already exists ({existing}); nothing written")
    voice = _numbers(args.number, "--number")
    sms = _numbers(args.sms_number, "--sms-number") or voice
    calendar: CalendarSettings = BuiltinCalendar()
    if args.google_calendar or args.google_credentials:
        if not (args.google_calendar and args.google_credentials):
            raise Refused("--google-calendar and --google-credentials go together", USAGE)
        credentials = _relative(Path(args.google_credentials), folder)
        calendar = GoogleCalendar(args.google_calendar, Path(credentials))
    text = new_tenant_text(
        args.id,
        profile=_profile_reference(args.profile, folder),
        numbers=Numbers(voice, sms, _numbers(args.whatsapp_number, "--whatsapp-number")),
        calendar=calendar,
        pin_hash=_pin_hash(args, required=False),
        languages=tuple(args.language or ["en"]),
    )
    if folder.is_dir():
        found = scan(folder, extra={target: text})
        errors = found.errors
    else:
        try:  # a new folder: the file is checked alone
            parse_tenant(text, target)
            errors = ()
        except TenantError as exc:
            errors = (str(exc),)
    if errors:
        for line in errors:
            _err(line)
        raise Refused(f"tenant '{args.id}' not added; nothing written")
    folder.mkdir(parents=True, exist_ok=True)
    write_file(target, text)
    tenant = parse_tenant(text, target)
    pin = "set" if tenant.owner_mode_enabled else "not set (owner mode off)"
    _out(f"added tenant '{tenant.id}' ({target}): {_numbers_by_channel(tenant)}; owner PIN {pin}")
    return DONE


def _edit(folder: Path, tenant_id: str, key: str, value: object) -> tuple[Path, Tenant]:
    """Set `tenant.<key>` in the tenant's file, if the result is valid; the file and the tenant."""
    path = _existing(folder, tenant_id)
    if path is None:
        raise Refused(f"no tenant '{tenant_id}' in {folder}")
    load_tenant(path)  # a file that is already wrong is fixed by hand, not edited further
    edited = set_tenant_field(path.read_text(encoding="utf-8"), key, value, f"tenant file {path}")
    tenant = parse_tenant(edited, path)
    if getattr(tenant, key) != value:  # e.g. a duplicate key that YAML reads last
        raise Refused(f"tenant file {path}: could not set tenant.{key}; edit it by hand")
    write_file(path, edited)
    return path, tenant


def _set_enabled(folder: Path, tenant_id: str, enabled: bool) -> int:
    word = "enabled" if enabled else "disabled"
    path = _existing(folder, tenant_id)
    if path is not None and load_tenant(path).enabled == enabled:
        _out(f"tenant '{tenant_id}' is already {word}; nothing written")
        return DONE
    path, _ = _edit(folder, tenant_id, "enabled", enabled)
    _out(f"tenant '{tenant_id}' {word} ({path}); takes effect when the server next starts")
    return DONE


def _set_pin(args: argparse.Namespace, folder: Path) -> int:
    if _existing(folder, args.id) is None:
        raise Refused(f"no tenant '{args.id}' in {folder}")
    pin_hash = _pin_hash(args, required=True)
    path, _ = _edit(folder, args.id, "owner_pin_hash", pin_hash)
    _out(f"owner PIN of tenant '{args.id}' changed ({path}); takes effect at the next start")
    return DONE


def parser() -> argparse.ArgumentParser:
    """The command line's argument parser."""
    root = argparse.ArgumentParser(
        prog="python -m bot.tenants",
        description="Tenant files: one business each, in TENANTS_DIR (or --dir).",
    )
    root.add_argument("--dir", type=Path, help="the tenants folder (default: TENANTS_DIR)")
    # Also accepted after the command; SUPPRESS keeps a --dir given before it.
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument("--dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("list", parents=[folder], help="id, enabled, numbers of every tenant")
    commands.add_parser("check", parents=[folder], help="validate every file as start-up does")
    add = commands.add_parser("add", parents=[folder], help="write a new tenant file")
    add.add_argument("id", help="the tenant id and file name: 1-40 of a-z, 0-9, _ and -")
    add.add_argument("--profile", required=True, help="profile file, or a shipped profile's name")
    add.add_argument("--number", action="append", required=True, help="voice number, E.164")
    add.add_argument("--sms-number", action="append", help="SMS number (default: --number)")
    add.add_argument("--whatsapp-number", action="append", help="WhatsApp number")
    add.add_argument("--language", action="append", help="e.g. en; the first greets (default en)")
    add.add_argument("--google-calendar", metavar="ID", help="Google calendar id")
    add.add_argument("--google-credentials", metavar="FILE", help="service-account JSON key")
    pins = add.add_mutually_exclusive_group()
    pins.add_argument("--pin-from-env", metavar="VAR", help="read the owner PIN from $VAR")
    pins.add_argument("--no-pin", action="store_true", help="no owner PIN: owner mode off")
    for name, text in (("disable", "stop answering"), ("enable", "answer again")):
        command = commands.add_parser(name, parents=[folder], help=f"{text} (edits the file)")
        command.add_argument("id")
    set_pin = commands.add_parser("set-pin", parents=[folder], help="set a tenant's owner PIN")
    set_pin.add_argument("id")
    set_pin.add_argument("--pin-from-env", metavar="VAR", help="read the owner PIN from $VAR")
    return root


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        folder = _folder(args)
        if args.command == "list":
            return _list(folder)
        if args.command == "check":
            return _check(folder)
        if args.command == "add":
            return _add(args, folder)
        if args.command in ("disable", "enable"):
            return _set_enabled(folder, args.id, args.command == "enable")
        return _set_pin(args, folder)
    except Refused as exc:
        _err(f"{args.command}: {exc}")
        return exc.code
    except TenantError as exc:
        _err(f"{args.command}: {exc}")
        return REFUSED
