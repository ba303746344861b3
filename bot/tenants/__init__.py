"""Tenants: the businesses one deployment serves, each answering its own numbers.

- `model`: `Tenant` and its parts, plain frozen values;
- `pins`: owner PINs as salted scrypt hashes (`hash_pin`, `verify_pin`);
- `files`: the tenants folder, `<id>.yaml` each, validated together with one-line errors;
- `registry`: `TenantRegistry`, number -> tenant, failing closed; one tenant from
  `BUSINESS_PROFILE` when `TENANTS_DIR` is unset;
- `edits`, `cli`: `python -m bot.tenants list|check|add|disable|enable|set-pin`.

Free of web and Pipecat imports, so the server, the pipeline and the command line share it.
"""

from bot.tenants.files import TenantError, load_tenant, scan
from bot.tenants.model import (
    CHANNELS,
    BuiltinCalendar,
    CalendarSettings,
    Channel,
    GoogleCalendar,
    Numbers,
    Retention,
    Tenant,
)
from bot.tenants.pins import hash_pin, verify_pin
from bot.tenants.registry import TenantRegistry, normalise_number, single_tenant

__all__ = [
    "CHANNELS",
    "BuiltinCalendar",
    "CalendarSettings",
    "Channel",
    "GoogleCalendar",
    "Numbers",
    "Retention",
    "Tenant",
    "TenantError",
    "TenantRegistry",
    "hash_pin",
    "load_tenant",
    "normalise_number",
    "scan",
    "single_tenant",
    "verify_pin",
]
