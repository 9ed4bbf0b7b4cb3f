"""Secrets at rest: carnet PINs as slow salted hashes (scrypt), API keys and share tokens as SHA-256.

PINs are six digits — low entropy — so they need a slow hash plus the attempt limit; API keys and
share tokens are 256-bit random, so a fast hash is enough and keeps lookups indexable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from functools import cache

_N, _R, _P = 2**14, 8, 1
_checks = 0
_checks_lock = threading.Lock()


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_pin(pin: str, stored: str) -> bool:
    global _checks
    with _checks_lock:
        _checks += 1
    try:
        _, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    mine = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(mine, base64.b64decode(digest))


@cache
def dummy_pin_hash() -> str:
    """A hash no PIN matches, of the same cost: checked for unknown carnets, so that the time an answer
    takes does not tell which carnet numbers exist."""
    return hash_pin(secrets.token_hex(16))


def pin_checks() -> int:
    """How many PIN hashes were checked in this process (each a full scrypt evaluation)."""
    return _checks


def new_key() -> str:
    return secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
