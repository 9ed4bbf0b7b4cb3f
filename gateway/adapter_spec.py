"""What an adapter says about one eATA territory: a frozen config, plus hooks only for what config cannot say.

Each file in the top-level ``adapters`` package defines ``ADAPTER = Adapter(...)``; the registry
(:mod:`gateway.adapters.registry`) loads them all. This module sits outside ``gateway.adapters`` so the
adapter files, and the transports, import their type without importing the package that loads them
(no cycle). An adapter is pure data: what depends on the installation (endpoint, OAuth credentials, callback URL,
keys directory) is resolved from the settings into a :class:`gateway.settings.Link` (``Settings.link``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from gateway.errors import Problem
from gateway.messages import Declaration
from gateway.model import TransactionKind
from gateway.translate import dialect_for

EATA_LIVE = date(2026, 6, 1)

Transport = Literal["soap", "rest"]
SoapVersion = Literal["1.1", "1.2"]
Grace = Literal["committed", "unconfirmed", "none"]
OfficePolicy = Literal["listed", "listed-or-any"]

# Gateway-side hook: adjust a declaration before encoding (e.g. a national spelling rule).
Prepare = Callable[[Declaration], Declaration]
# National-side hook: a rule the territory's system applies that config cannot state; None = fine.
Check = Callable[[Declaration], Problem | None]


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 3.0
    read: float = 15.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """In-process retries of one delivery; past them the relay's own backoff tiers take over."""

    attempts: int = 3
    backoff: float = 0.5  # seconds before the 2nd attempt; doubles each time
    max_backoff: float = 8.0

    def delay(self, attempt: int) -> float:
        """Pause after failed attempt ``attempt`` (1-based)."""
        return min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)


@dataclass(frozen=True, slots=True)
class OAuth:
    """OAuth 2.0 client credentials (REST transports); secrets come from the environment only."""

    scope: str = "write:eata-declarations"
    token_path: str = "/oauth/token"  # on the simulator; EATA_TOKEN_URL_<XX> overrides


@dataclass(frozen=True, slots=True)
class Office:
    id: str
    name: str
    roles: tuple[str, ...] = ()
    verified: bool = False


@dataclass(frozen=True, slots=True)
class Adapter:
    """One territory's configuration. Fields have defaults so a territory file states only what differs."""

    code: str  # ISO 3166 alpha-2, upper case, = the module name
    name: str
    language: str  # ISO 639-1 of the national system's free text
    agency: str  # the customs administration
    national_system: str  # the clearance system eATA declarations land in
    transport: Transport = "soap"
    soap_version: SoapVersion = "1.1"
    live_date: date = EATA_LIVE
    # kind value -> dialect; kinds not named use gateway.translate.dialect_for (wco-dec, ncts for transit)
    dialects: Mapping[str, str] = field(default_factory=dict)
    customisation: str = ""  # national customisation id, passed to the mapping as a param
    params: Mapping[str, Any] = field(default_factory=dict)  # extra mapping params
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    oauth: OAuth | None = None
    tls_client_cert: str | None = None  # PEM path (cert + key) for mTLS, when the territory wants it
    signing_key: str = "gateway"  # key name in EATA_KEYS_DIR
    trust_anchors: tuple[str, ...] = ("ca",)  # CA certificate names in EATA_KEYS_DIR (TEST PKI layout)
    # certificates of those who sign for this territory's customs (default: its simulator, sim-<xx>);
    # EATA_KEYS_DIR/trust/<XX>/ overrides both (gateway.adapters.trust)
    signers: tuple[str, ...] = ()
    simulator_key: str = ""  # key the simulator signs with; default sim-<xx>
    offices: tuple[Office, ...] | None = None  # None: from mappings/codelists/customs-offices.yaml
    office_policy: OfficePolicy = "listed-or-any"  # "listed-or-any": any XX office when none is listed
    office_prefixes: tuple[str, ...] = ()  # country prefixes of its office references; default (code,)
    grace: Grace = "unconfirmed"  # paper accepted in the first year? (gateway.grace holds the dated rules)
    prepare: Prepare | None = None
    check: Check | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dialects", MappingProxyType(dict(self.dialects)))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    # -- derived -----------------------------------------------------------------------------------
    @property
    def territory(self) -> str:
        return self.code

    def dialect(self, kind: TransactionKind | str) -> str:
        kind = TransactionKind(kind)
        return self.dialects.get(kind.value) or dialect_for(kind)

    def mapping_params(self) -> dict[str, Any]:
        extra = {"customisation": self.customisation} if self.customisation else {}
        return {**extra, "agency": self.agency, **self.params}

    @property
    def prefixes(self) -> tuple[str, ...]:
        return self.office_prefixes or (self.code,)

    @property
    def office_ids(self) -> frozenset[str]:
        return frozenset(o.id for o in self.offices or ())

    def office(self, office_id: str) -> Office | None:
        return next((o for o in self.offices or () if o.id == office_id), None)

    def knows_office(self, office_id: str) -> bool:
        """The national rule for 304: listed offices, or any of this country when none is on file."""
        if not office_id.startswith(self.prefixes):
            return False
        if self.office_ids:
            return office_id in self.office_ids
        return self.office_policy == "listed-or-any"

    @property
    def sim_key(self) -> str:
        return self.simulator_key or f"sim-{self.code.lower()}"

    @property
    def signer_names(self) -> tuple[str, ...]:
        return self.signers or (self.sim_key,)

    def with_(self, **changes: Any) -> Adapter:
        return replace(self, **changes)
