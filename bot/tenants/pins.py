"""Owner PINs at rest: a salted scrypt hash, never the PIN itself.

Stored form: `scrypt$<salt>$<hash>`, both parts unpadded URL-safe base64 (16-byte salt, 32-byte
hash), with the fixed cost N=2**14, r=8, p=1 (16 MiB, tens of milliseconds; callers on an event
loop run `verify_pin` in a thread). A 4-to-8-digit PIN has at most 10**8 values, so no hash stops
someone who holds the file from guessing it offline: the hash keeps the PIN out of files, backups
and screens, and the online guard is caller ID plus the lockout in `bot.owner_pin_guard`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

# A PIN as the owner types it on the keypad (the rule `OWNER_PIN` follows in bot.config).
PIN_PATTERN = re.compile(r"[0-9]{4,8}")
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_HASH_BYTES = 32
_HASH_FORM = re.compile(r"scrypt\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        pin.encode("ascii"), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024, dklen=_HASH_BYTES
    )


def hash_pin(pin: str) -> str:
    """A new salted hash of `pin`; raises ValueError unless it is 4 to 8 digits."""
    if not PIN_PATTERN.fullmatch(pin):
        raise ValueError("an owner PIN is 4 to 8 digits")
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"scrypt${_b64(salt)}${_b64(_derive(pin, salt))}"


def _parts(stored: str) -> tuple[bytes, bytes] | None:
    match = _HASH_FORM.fullmatch(stored)
    if match is None:
        return None
    try:
        salt, digest = _unb64(match.group(1)), _unb64(match.group(2))
    except (binascii.Error, ValueError):
        return None
    if len(salt) != _SALT_BYTES or len(digest) != _HASH_BYTES:
        return None
    return salt, digest


def is_pin_hash(stored: str) -> bool:
    """True if `stored` has the `scrypt$<salt>$<hash>` form `hash_pin` writes."""
    return _parts(stored) is not None


def verify_pin(pin: str, stored: str) -> bool:
    """True if `pin` hashes to `stored`; compared in constant time. Malformed input never matches."""
    parts = _parts(stored)
    if parts is None or not pin.isascii() or not PIN_PATTERN.fullmatch(pin):
        return False
    salt, digest = parts
    return hmac.compare_digest(_derive(pin, salt), digest)
