"""Writing tenant files: a new file from the command line, or one field changed in place.

Invariants:
- an edit changes one value of the `tenant:` section and nothing else: comments, order and the
  rest of the file stay byte for byte (the value is located through YAML's own node positions);
- a file is replaced whole or not at all (written beside it, then renamed), and a new one is
  readable by its owner only (it may hold a PIN hash).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bot.tenants.files import TenantError
from bot.tenants.model import CHANNELS, CalendarSettings, GoogleCalendar, Numbers


def _scalar(value: object) -> str:
    dumped: str = yaml.safe_dump(value, default_flow_style=True, width=10_000)
    return dumped.removesuffix("\n").removesuffix("\n...").strip()


def new_tenant_text(
    tenant_id: str,
    *,
    profile: str,
    numbers: Numbers,
    calendar: CalendarSettings,
    pin_hash: str | None,
    languages: tuple[str, ...] = ("en",),
) -> str:
    """The text of a new tenant file (`python -m bot.tenants add`)."""
    section: dict[str, Any] = {
        "numbers": {c: list(numbers.on(c)) for c in CHANNELS if numbers.on(c)},
        "calendar": "builtin",
        "languages": list(languages),
        "enabled": True,
    }
    if isinstance(calendar, GoogleCalendar):
        section["calendar"] = {
            "kind": "google",
            "calendar_id": calendar.calendar_id,
            "credentials_file": str(calendar.credentials_file),
        }
    if pin_hash is not None:
        section["owner_pin_hash"] = pin_hash
    body = yaml.safe_dump(
        {"tenant": section, "profile": profile}, sort_keys=False, default_flow_style=None
    )
    return (
        f"# Tenant '{tenant_id}', written by `python -m bot.tenants add`. Fields: README,\n"
        '# "Several businesses on one deployment". Change the PIN with `set-pin`, never here.\n'
        + body
    )


def set_tenant_field(text: str, key: str, value: object, where: str) -> str:
    """`text` with `tenant.<key>` set to `value`, everything else untouched.

    A missing key is added as the first line of the section, indented like its other keys.
    Raises TenantError if the section is not a block mapping or the key's value is not a scalar.
    """
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        raise TenantError(f"{where}: not valid YAML") from None
    section = None
    if isinstance(root, yaml.MappingNode):
        section = next((v for k, v in root.value if getattr(k, "value", None) == "tenant"), None)
    if not isinstance(section, yaml.MappingNode) or section.flow_style or not section.value:
        raise TenantError(f"{where}: the `tenant:` section must be a block mapping to be edited")
    new = _scalar(value)
    for name, node in section.value:
        if getattr(name, "value", None) == key:
            if not isinstance(node, yaml.ScalarNode):
                raise TenantError(f"{where}: field 'tenant.{key}' must be a single value")
            return text[: node.start_mark.index] + new + text[node.end_mark.index :]
    first: yaml.Mark = section.value[0][0].start_mark
    index: int = first.index
    line_start = text.rfind("\n", 0, index) + 1
    indent = " " * int(first.column)
    return text[:line_start] + indent + f"{key}: {new}\n" + text[line_start:]


def write_file(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically; a new file gets mode 0600, an old keeps its mode."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
