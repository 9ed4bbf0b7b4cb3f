"""Console sessions: a signed cookie naming the party and its CSRF token; nothing else is kept."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateway.store.db import Party

COOKIE = "eata_console"
PRE = "eata_console_login"  # double-submit token of the login form
ROLES = frozenset({"operator", "auditor"})
MAX_AGE_S = 8 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    party: Party
    csrf: str

    @property
    def auditor(self) -> bool:
        return self.party.role == "auditor"

    @property
    def operator(self) -> bool:
        return self.party.role == "operator"


class Sessions:
    def __init__(self, secret: str, db: Any) -> None:
        self.signer = URLSafeTimedSerializer(secret, salt="eata-console-session")
        self.db = db

    def issue(self, party: Party) -> tuple[str, str]:
        csrf = secrets.token_urlsafe(24)
        return self.signer.dumps({"p": party.id, "c": csrf}), csrf

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self.signer.loads(raw, max_age=MAX_AGE_S)
        except BadSignature:
            return None
        party = self.db.party(str(data.get("p", "")))
        if party is None or party.role not in ROLES:
            return None
        return Session(party, str(data.get("c", "")))


def same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form (the console's only kind), first value of each field."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def cookie_args(request: Request) -> dict[str, Any]:
    tls = request.url.scheme == "https" or bool(request.scope.get("state", {}).get("tls"))
    return {"httponly": True, "samesite": "strict", "secure": tls, "path": "/console"}
