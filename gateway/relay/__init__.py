"""Durable relay over RabbitMQ: envelopes in, confirmed and deduplicated deliveries out.

The relay knows nothing of carnets' content or XML: it moves :class:`Envelope` values from an outbox
to per-territory queues and hands each to a delivery callable returning :class:`Done`, :class:`Retry`
or :class:`Final`.
"""

from gateway.relay.envelope import Envelope
from gateway.relay.outcome import Deliver, Done, Final, Outcome, Retry
from gateway.relay.publisher import Publisher, PublishError, Unroutable
from gateway.relay.store import Store
from gateway.relay.topology import EVENTS, OUTBOUND, Topology
from gateway.relay.worker import Worker

__all__ = [
    "EVENTS",
    "OUTBOUND",
    "Deliver",
    "Done",
    "Envelope",
    "Final",
    "Outcome",
    "PublishError",
    "Publisher",
    "Retry",
    "Store",
    "Topology",
    "Unroutable",
    "Worker",
]
