"""Service settings from the environment (12-factor): every path and URL an operator may change."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"EATA_{name}", default)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", "sqlite:///eata-gateway.db") or "")
    amqp_url: str | None = field(default_factory=lambda: _env("AMQP_URL"))
    signing_key: Path | None = field(default_factory=lambda: Path(p) if (p := _env("SIGNING_KEY")) else None)
    signing_cert: Path | None = field(
        default_factory=lambda: Path(p) if (p := _env("SIGNING_CERT")) else None
    )
    trust_dir: Path | None = field(default_factory=lambda: Path(p) if (p := _env("TRUST_DIR")) else None)
    share_secret: str = field(default_factory=lambda: _env("SHARE_SECRET", "") or os.urandom(32).hex())
    pin_window_s: float = 15 * 60
    pin_max_wrong: int = 5
