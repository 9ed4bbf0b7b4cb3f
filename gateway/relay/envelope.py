"""The relay's unit of work: an opaque body plus the few fields routing, ordering and dedup need."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import pika

from gateway.errors import Code, refuse

# Header names carried on every relayed message (AMQP properties hold the rest).
H_TERRITORY = "x-eata-territory"
H_CARNET = "x-eata-carnet"
H_ATTEMPT = "x-eata-attempt"
H_GENERATION = "x-eata-generation"  # bumped by a DLQ replay so the dedup record does not re-dead it
H_REASON = "x-eata-reason"
H_CODE = "x-eata-code"
H_ATTEMPTS = "x-eata-attempts"
H_ORIGIN = "x-eata-origin-queue"
_OWN = frozenset({H_TERRITORY, H_CARNET, H_ATTEMPT, H_GENERATION})
_BROKER_HEADERS = ("x-death", "x-first-death", "x-last-death")  # added by dead-lettering; not ours to carry


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the relay moves. ``carnet_id`` is the ordering key; ``message_id`` the dedup key."""

    kind: str
    territory: str
    carnet_id: str
    body: bytes
    message_id: str = field(default_factory=new_id)
    correlation_id: str | None = None
    timestamp: float = field(default_factory=time.time)
    attempt: int = 1
    generation: int = 0
    content_type: str = "application/octet-stream"
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.territory or "." in self.territory or not self.kind or "." in self.kind:
            raise refuse(Code.BAD_VALUE, "/territory", "territory and kind must be non-empty and dot-free")
        if not self.message_id:
            raise refuse(Code.MISSING, "/message_id", "every relayed message needs an ID")
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    @property
    def routing_key(self) -> str:
        return f"{self.territory}.{self.kind}"

    def with_(self, **changes: Any) -> Envelope:
        return replace(self, **changes)

    # -- AMQP ------------------------------------------------------------------------------------
    def properties(self, extra: Mapping[str, object] | None = None) -> pika.BasicProperties:
        headers: dict[str, object] = dict(self.headers)
        headers.update(
            {
                H_TERRITORY: self.territory,
                H_CARNET: self.carnet_id,
                H_ATTEMPT: self.attempt,
                H_GENERATION: self.generation,
            }
        )
        if extra:
            headers.update(extra)
        return pika.BasicProperties(
            message_id=self.message_id,
            correlation_id=self.correlation_id,
            type=self.kind,
            timestamp=int(self.timestamp),
            content_type=self.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            headers=headers,
        )

    @classmethod
    def from_amqp(cls, props: pika.BasicProperties, body: bytes) -> Envelope:
        """Rebuild from a delivery; raises :class:`~gateway.errors.Refusal` (UNREADABLE) when fields are missing."""
        h = dict(props.headers or {})
        try:
            territory, carnet = _text(h[H_TERRITORY]), _text(h[H_CARNET])
            if not props.message_id or not props.type:
                raise KeyError("message_id/type")
            return cls(
                kind=props.type,
                territory=territory,
                carnet_id=carnet,
                body=bytes(body),
                message_id=props.message_id,
                correlation_id=props.correlation_id,
                timestamp=float(props.timestamp or 0),
                attempt=int(h.get(H_ATTEMPT, 1)),
                generation=int(h.get(H_GENERATION, 0)),
                content_type=props.content_type or "application/octet-stream",
                headers={
                    k: _text(v) for k, v in h.items() if k not in _OWN and not k.startswith(_BROKER_HEADERS)
                },
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise refuse(Code.UNREADABLE, "/headers", f"not a relay envelope: missing or bad {exc}") from exc

    # -- storage (outbox, parked) ----------------------------------------------------------------
    def meta_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "territory": self.territory,
                "carnet_id": self.carnet_id,
                "message_id": self.message_id,
                "correlation_id": self.correlation_id,
                "timestamp": self.timestamp,
                "attempt": self.attempt,
                "generation": self.generation,
                "content_type": self.content_type,
                "headers": dict(self.headers),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_meta(cls, meta: str, body: bytes) -> Envelope:
        return cls(body=bytes(body), **json.loads(meta))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
