"""Service settings from the environment (12-factor): every URL an operator may change.

Adapter settings (endpoints, keys, trust anchors) are read by :mod:`gateway.adapters.base` from their own
``EATA_*`` variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"EATA_{name}", default)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", "sqlite:///eata-gateway.db") or "")
    amqp_url: str | None = field(default_factory=lambda: _env("AMQP_URL"))
    # TEST or real keys of the chain parties this gateway speaks for (customs-<xx>.key.pem, ca.cert.pem):
    # with it, claims customs push are relayed along the guarantee chain
    chain_keys: str | None = field(default_factory=lambda: _env("CHAIN_KEYS"))
    # mTLS at the reverse proxy: the header it forwards the verified client certificate in, and the proxy
    # addresses believed (nobody else may set that header)
    client_cert_header: str | None = field(default_factory=lambda: _env("CLIENT_CERT_HEADER"))
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", "127.0.0.1,::1") or "")
    # request body limits in bytes, enforced while reading (413): the API, and the customs callback
    max_body: int = field(default_factory=lambda: int(_env("MAX_BODY", str(10 * 1024 * 1024)) or 0))
    max_callback_body: int = field(
        default_factory=lambda: int(_env("MAX_CALLBACK_BODY", str(8 * 1024 * 1024)) or 0)
    )
    share_secret: str = field(default_factory=lambda: _env("SHARE_SECRET", "") or os.urandom(32).hex())
    pin_window_s: float = 15 * 60
    pin_max_wrong: int = 5
