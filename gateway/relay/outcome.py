"""What a delivery callable returns: the worker turns each into acks, retries, events or dead letters.

Contract: ``deliver(envelope) -> Done | Retry | Final``. It may be called more than once for the same
``message_id`` (at-least-once; a crash between delivery and the dedup commit), so the far side must
dedupe by message ID. Raising instead of returning marks the message poison: it goes to the DLQ at once
(a :class:`~gateway.errors.Refusal` keeps its code, anything else is 400 internal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.relay.envelope import Envelope


@dataclass(frozen=True, slots=True)
class Done:
    """Delivered; ``result_event`` (if any) is published on ``eata.events`` as ``<territory>.<kind>.result``."""

    result_event: bytes | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Transient failure (customs down, timeout): try again after the next backoff tier."""

    reason: str
    code: int = 503


@dataclass(frozen=True, slots=True)
class Final:
    """Permanent failure: straight to the dead-letter queue with this code and reason."""

    code: int
    reason: str


Outcome = Done | Retry | Final
Deliver = Callable[[Envelope], Outcome]
