"""How full a territory's queues are (work, retry tiers, dead letters): read passively from the broker.

Shared by ``eata-gateway status`` and the gateway's ``/metrics`` scrape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pika.exceptions import ChannelClosedByBroker

from gateway.relay.connect import connect
from gateway.relay.topology import DEFAULT_DELAYS_MS, dead_queue, partition_count, retry_queue, work_queue


@dataclass(frozen=True, slots=True)
class Depth:
    territory: str
    role: (
        str  # work | retry <n>ms | dead; partitioned: work <p> | retry <p> <n>ms, and "work (unpartitioned)"
    )
    queue: str
    messages: int | None  # None: the queue does not exist (nobody declared it yet)
    consumers: int | None


def queue_depths(
    url: str, territories: Sequence[str], delays_ms: Sequence[int] = DEFAULT_DELAYS_MS, timeout: float = 5.0
) -> list[Depth]:
    conn = connect(url, timeout=timeout)
    try:
        ch = conn.channel()
        out: list[Depth] = []
        for t in territories:
            parts = partition_count(conn, t)
            if parts:
                names = [("work (unpartitioned)", work_queue(t))]
                for p in range(parts):
                    names.append((f"work {p}", work_queue(t, p)))
                    names += [(f"retry {p} {d}ms", retry_queue(t, d, p)) for d in delays_ms]
                names.append(("dead", dead_queue(t)))
            else:
                names = [
                    ("work", work_queue(t)),
                    *((f"retry {d}ms", retry_queue(t, d)) for d in delays_ms),
                    ("dead", dead_queue(t)),
                ]
            for role, name in names:
                try:
                    ok = ch.queue_declare(name, passive=True).method
                    out.append(Depth(t, role, name, int(ok.message_count), int(ok.consumer_count)))
                except ChannelClosedByBroker:  # 404: absent; the broker closed the channel
                    out.append(Depth(t, role, name, None, None))
                    ch = conn.channel()
        return out
    finally:
        conn.close()
