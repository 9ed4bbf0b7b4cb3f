"""Fault injection for the simulators: what a misbehaving national system does, and what the gateway makes of it.

A profile is a comma-separated list of ``name[=value][:count]`` (``count``: only the next N requests;
no count: every request), or one of the named presets. Documented outcomes at the gateway's ``deliver``:

=================  =================================================  =======================================
fault              the simulator ...                                   gateway outcome
=================  =================================================  =======================================
latency=S          answers after S seconds                             Delivered (or 504 if S > read timeout)
http_5xx           answers HTTP 503 with a plain-text body             RetryableFailure 503 (after retries)
soap_fault         answers a SOAP Server/Receiver fault                RetryableFailure 500
hang=S             holds the request S seconds (default 30)            RetryableFailure 504
malformed          answers 200 with broken XML                         RetryableFailure 500
bad_signature      answers with a signed document altered after        FinalFailure 121
                   signing
missing_signature  answers with an unsigned document                   FinalFailure 120
unknown_reference  answers naming an LRN/MRN the gateway never sent    refused 314, attached to nothing
duplicate          (REST) pushes the decision twice                    callback records one effect
no_notification    (REST) acknowledges but never pushes the decision   Delivered(ack); query_status answers
accept_expired     commits declarations on an expired carnet          committed where 203 is due
generic_errors     answers an unknown office with the generic 510      rejected 510 where 304 is due
no_duplicate_check takes a reused message ID as a new declaration     committed where 299 is due
=================  =================================================  =======================================

The last three are *behaviours*, not transport faults: the preset ``nonconforming`` turns them all on so
the conformance suite can be seen to fail (``expired-carnet``, ``unknown-office``, ``duplicate-message``).
A profile may be set for the whole simulator or for one territory (``/_control/faults/XX``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = frozenset(
    {
        "latency",
        "http_5xx",
        "soap_fault",
        "hang",
        "malformed",
        "bad_signature",
        "missing_signature",
        "unknown_reference",
        "duplicate",
        "no_notification",
        "accept_expired",
        "generic_errors",
        "no_duplicate_check",
    }
)
BEHAVIOURS = frozenset({"accept_expired", "generic_errors", "no_duplicate_check"})
PRESETS = {
    "none": "",
    "flaky": "http_5xx:2",  # two failures, then fine: exercises retry with backoff
    "slow": "latency=0.5",
    "down": "http_5xx",
    "hang": "hang",
    "hostile": "bad_signature",
    "chatty": "duplicate",
    "silent": "no_notification",
    "nonconforming": "accept_expired,generic_errors,no_duplicate_check",
}


@dataclass
class Fault:
    kind: str
    value: float | None = None
    remaining: int | None = None  # None: every request


def parse(profile: str) -> list[Fault]:
    profile = PRESETS.get(profile.strip(), profile)
    faults: list[Fault] = []
    for part in filter(None, (p.strip() for p in profile.split(","))):
        head, _, count = part.partition(":")
        name, _, value = head.partition("=")
        if name not in KINDS:
            raise ValueError(
                f"unknown fault {name!r}; known: {', '.join(sorted(KINDS))} or {sorted(PRESETS)}"
            )
        faults.append(Fault(name, float(value) if value else None, int(count) if count else None))
    return faults


class Faults:
    """The active profile; thread-safe, counted faults run out after their N requests."""

    def __init__(self, profile: str = "") -> None:
        self._lock = threading.Lock()
        self._faults = parse(profile)
        self.profile = profile

    def set(self, profile: str) -> None:
        faults = parse(profile)
        with self._lock:
            self._faults, self.profile = faults, profile

    def take(self, kind: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.kind == kind and (f.remaining is None or f.remaining > 0):
                    if f.remaining is not None:
                        f.remaining -= 1
                    return f
            return None

    def has(self, kind: str) -> bool:
        """A standing behaviour (no count consumed): how customs decide, not what the transport does."""
        with self._lock:
            return any(f.kind == kind and (f.remaining is None or f.remaining > 0) for f in self._faults)
