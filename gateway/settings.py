"""The gateway's settings: one frozen object read from the ``EATA_*`` environment (12-factor), built once
when a command starts and passed down (runtime, workers, deliveries, console).

- :meth:`Settings.from_env` builds it; ``Settings(database_url=…)`` overrides single values (the rest still
  come from the environment).
- Per-territory values (``EATA_ENDPOINT_<XX>``, ``EATA_TOKEN_URL_<XX>``, ``EATA_OAUTH_CLIENT_ID_<XX>``,
  ``EATA_OAUTH_SECRET_<XX>``) are gathered into dicts keyed by territory code.
- :meth:`Settings.link` resolves what a delivery to one territory needs (:class:`Link`: endpoint, token
  URL, credentials, callback URL, keys directory). There are no silent production defaults: a missing
  endpoint, token URL or OAuth secret is a :class:`MissingSetting` naming the variable, unless
  ``EATA_SIMULATOR_URL`` is set, which then serves every territory not configured on its own.
- :func:`current` is the settings a command installed with :func:`use` (e.g. ``worker``); with none
  installed (library use, tests), the environment's, built once per distinct ``EATA_*`` environment.
- ``python -m gateway.settings --markdown`` prints the table of ``docs/operations.md``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "EATA_"
DEFAULT_CALLBACK_URL = "http://127.0.0.1:8080/customs/callback"  # where create_app mounts the callback

# per-territory dict fields: field name → the variable's prefix (EATA_ENDPOINT_<XX> …)
PER_TERRITORY = {
    "endpoints": "ENDPOINT_",
    "token_urls": "TOKEN_URL_",
    "oauth_client_ids": "OAUTH_CLIENT_ID_",
    "oauth_secrets": "OAUTH_SECRET_",
}


class Adapter(Protocol):
    """What the settings read of a :class:`gateway.adapter_spec.Adapter` (this module imports none of
    ours, so every layer may read the settings)."""

    @property
    def code(self) -> str: ...
    @property
    def transport(self) -> str: ...
    @property
    def oauth(self) -> Any: ...


class MissingSetting(ValueError):
    """A value production needs is not set: the message names the variable."""


@dataclass(frozen=True, slots=True)
class Link:
    """What a delivery to one territory needs, resolved from the settings (adapters stay pure data)."""

    territory: str
    endpoint: str
    callback_url: str
    keys_dir: Path
    token_url: str | None = None  # REST territories (OAuth 2.0 client credentials)
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def credentials(self) -> tuple[str, str]:
        return self.client_id or "", self.client_secret or ""


def _split(value: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in value.split(",") if u.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="ignore")

    database_url: str = Field(
        "sqlite:///eata-gateway.db",
        description="the gateway's store: `sqlite:////var/lib/eata/gateway.db` or `postgresql://…`",
    )
    store_url: str = Field(
        "sqlite:///eata-relay.db",
        description="a worker's store (dedup records, carnet holds): shared by the workers of a territory",
    )
    amqp_url: str | None = Field(
        None,
        description="the broker: one URL, or a cluster's nodes comma-separated "
        "(`amqp://u:p@rmq-0/%2F,amqp://u:p@rmq-1/%2F,…`); each part connects to the first that answers and, "
        "when it loses that node, to the next. Unset: `serve` runs without a broker, other commands use "
        "`amqp://guest:guest@127.0.0.1:5672/%2F`",
    )
    partitions: str = Field(
        "",
        description="territories whose work is split by carnet over N worker processes, e.g. `NO=4,SE=2` "
        "(default 1 each; see below)",
    )
    official_schemas: Path | None = Field(
        None,
        description="the official schemas as their publishers ship them: a folder with `uk-cds-wco-dms/` "
        "(HMRC CDS WCO DEC/RES DMS) and `eu-ncts-p5/` (NCTS phase 5 CTC XSDs); every inbound document is "
        "validated against them (docs/dialects.md)",
    )
    keys_dir: Path = Field(
        Path("state/keys"),
        description="`gateway.key.pem`/`.cert.pem` (our signing key) and, per territory, `trust/XX/anchors`, "
        "`trust/XX/signers` (and optional `trust/XX/pinned`): whose signatures count for XX "
        "([security.md](security.md))",
    )
    endpoints: dict[str, str] = Field(
        default_factory=dict,
        description="territory XX's national endpoint (required for each territory a worker delivers to, "
        "unless `EATA_SIMULATOR_URL` is set)",
        json_schema_extra={"env": "EATA_ENDPOINT_<XX>"},
    )
    token_urls: dict[str, str] = Field(
        default_factory=dict,
        description="OAuth 2.0 token endpoint of REST territory XX (required unless `EATA_SIMULATOR_URL`)",
        json_schema_extra={"env": "EATA_TOKEN_URL_<XX>"},
    )
    oauth_client_ids: dict[str, str] = Field(
        default_factory=dict,
        description="OAuth 2.0 client ID of REST territory XX (default `eata-gateway-<xx>`)",
        json_schema_extra={"env": "EATA_OAUTH_CLIENT_ID_<XX>"},
    )
    oauth_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="OAuth 2.0 client secret of REST territory XX (required unless `EATA_SIMULATOR_URL`)",
        json_schema_extra={"env": "EATA_OAUTH_SECRET_<XX>"},
    )
    simulator_url: str | None = Field(
        None,
        description="testing only: the national simulators (`eata-gateway simulate`) serve every territory "
        "without its own endpoint, token URL or secret",
    )
    callback_url: str = Field(
        DEFAULT_CALLBACK_URL, description="where national systems push decisions (`…/customs/callback`)"
    )
    chain_keys: str | None = Field(
        None,
        description="chain keys of the customs this gateway relays claims for "
        "(`customs-<xx>.key.pem`, `ca.cert.pem`)",
    )
    share_secret: str = Field(
        default_factory=lambda: os.urandom(32).hex(),
        json_schema_extra={"shown_default": "random at each start"},
        description="key of representatives' share links (set it, or links die with a restart)",
    )
    max_body: int = Field(
        10 * 1024 * 1024,
        description="largest request body in bytes (10 MiB), refused with 413 while it is read",
    )
    max_callback_body: int = Field(8 * 1024 * 1024, description="the same at `/customs` (8 MiB)")
    webhook_allow: str | None = Field(
        None,
        description="CIDRs or host names webhooks may reach beyond public addresses "
        "(e.g. a receiver on the operator's own network)",
    )
    client_cert_header: str | None = Field(
        None, description="mTLS at your proxy: the header it forwards the client certificate in"
    )
    trusted_proxies: str = Field(
        "127.0.0.1,::1", description="the proxy addresses whose client-certificate header is believed"
    )
    grace_overrides: Path | None = Field(
        None, description="a YAML file of grace-policy `overrides:` laid over the built-in policy"
    )
    db_pool_size: int = Field(10, description="PostgreSQL connections pooled per process")
    db_max_overflow: int = Field(20, description="connections a process may open beyond its pool")
    memo_limit: int = Field(
        10_000, description="entries kept by in-memory memos (callback inbox, simulators)"
    )
    console_relay_stores: str = Field(
        "",
        description="where the console reads the workers' delivery records (their `EATA_STORE_URL`s, "
        "comma-separated) when they are not in the gateway's own database",
    )
    log_format: Literal["", "json", "text"] = Field(
        "",
        description="`json` or `text`: the log format of every command (default JSON lines for `serve`, "
        "`worker` and `chain consume` unless stderr is a terminal)",
    )
    pika_log: str = Field(
        "", description="any value: show pika's own connection logging again (debugging the broker)"
    )
    sink_url: str = Field(
        "http://127.0.0.1:8099",
        description="benchmarks only: where the `gateway.relay.sink:deliver` callable posts",
    )
    pin_window_s: float = Field(15 * 60, exclude=True)
    pin_max_wrong: int = Field(5, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _per_territory(cls, data: Any) -> Any:
        """``EATA_ENDPOINT_<XX>`` … gathered into dicts (names pydantic-settings cannot know in advance);
        values given to the constructor win."""
        if not isinstance(data, dict):
            return data
        for name, prefix in PER_TERRITORY.items():
            if data.get(name):
                continue
            start = PREFIX + prefix
            found = {
                k[len(start) :].upper(): v
                for k, v in os.environ.items()
                if k.upper().startswith(start) and len(k) > len(start) and v
            }
            if found:
                data[name] = found
        return data

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        return cls(**overrides)

    # --- what the parts read ------------------------------------------------------------------------

    @property
    def relay_stores(self) -> tuple[str, ...]:
        return _split(self.console_relay_stores)

    @property
    def proxies(self) -> frozenset[str]:
        return frozenset(_split(self.trusted_proxies))

    @property
    def keys_dir_set(self) -> bool:
        """``EATA_KEYS_DIR`` was given (the console and metrics read no default directory)."""
        return "keys_dir" in self.model_fields_set

    def _simulator(self, variable: str, territory: str) -> str:
        if not self.simulator_url:
            raise MissingSetting(
                f"{PREFIX}{variable}_{territory} is not set (nor EATA_SIMULATOR_URL, for testing)"
            )
        return self.simulator_url.rstrip("/")

    def link(self, adapter: Adapter) -> Link:
        """Territory ``adapter``'s endpoint, credentials, callback and keys; :class:`MissingSetting`
        naming the first variable missing."""
        code = adapter.code
        endpoint = self.endpoints.get(code) or (
            f"{self._simulator('ENDPOINT', code)}/customs/{code}"
            + ("/soap" if adapter.transport == "soap" else "")
        )
        token_url = client_id = secret = None
        if adapter.transport == "rest":
            token_url = self.token_urls.get(code)
            if not token_url:
                path = getattr(adapter.oauth, "token_path", None) or "/oauth/token"
                token_url = self._simulator("TOKEN_URL", code) + path
            client_id = self.oauth_client_ids.get(code, f"eata-gateway-{code.lower()}")
            secret = self.oauth_secrets.get(code)
            if not secret:
                self._simulator("OAUTH_SECRET", code)
                secret = "simulator-secret"
        return Link(
            code,
            endpoint,
            self.callback_url.rstrip("/") + f"/{code}",
            self.keys_dir,
            token_url,
            client_id,
            secret,
        )

    def endpoint(self, adapter: Adapter) -> str | None:
        """Where deliveries to ``adapter``'s territory go; None when not configured (shown, not raised)."""
        try:
            return self.link(adapter).endpoint
        except MissingSetting:
            return self.endpoints.get(adapter.code)

    def require(self, adapters: Iterable[Adapter]) -> None:
        """A start-up check: every territory given can be delivered to (else :class:`MissingSetting`)."""
        for adapter in adapters:
            self.link(adapter)


# --- the settings in use ----------------------------------------------------------------------------

_installed: list[Settings] = []


@contextmanager
def use(settings: Settings) -> Iterator[Settings]:
    """Install ``settings`` as :func:`current` for the block (a command, a test)."""
    _installed.append(settings)
    try:
        yield settings
    finally:
        _installed.remove(settings)


@lru_cache(maxsize=16)
def _built(environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env()


def current() -> Settings:
    if _installed:
        return _installed[-1]
    return _built(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX))))


def official_schemas() -> Path | None:
    """``current().official_schemas``, asked once per inbound document: from the installed settings, or
    else resolved once per value of ``EATA_OFFICIAL_SCHEMAS`` (not by reading the whole environment)."""
    if _installed:
        return _installed[-1].official_schemas
    return _official_schemas(os.environ.get(PREFIX + "OFFICIAL_SCHEMAS"))


@lru_cache(maxsize=16)
def _official_schemas(value: str | None) -> Path | None:
    return current().official_schemas


def link(adapter: Adapter) -> Link:
    return current().link(adapter)


def keys_dir() -> Path:
    return current().keys_dir


# --- the documentation ------------------------------------------------------------------------------


def variables() -> Mapping[str, tuple[str, str]]:
    """Every variable the settings read: its default as shown, and what it means (docs/operations.md)."""
    out: dict[str, tuple[str, str]] = {}
    for name, field in Settings.model_fields.items():
        if field.exclude:
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "shown_default" in extra:
            shown = str(extra["shown_default"])
        elif field.default_factory is not None or field.default in (None, ""):
            shown = "—"
        else:
            shown = f"`{field.default}`"
        out[str(extra.get("env") or PREFIX + name.upper())] = (shown, field.description or "")
    return out


def markdown() -> str:
    rows = [f"| `{name}` | {shown} | {meaning} |" for name, (shown, meaning) in variables().items()]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows]) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["--markdown"]:
        print("usage: python -m gateway.settings --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
