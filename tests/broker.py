"""Peeking into the test broker's queues (relay and chain tests alike)."""

from __future__ import annotations

import pika


def depth(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        conn.close()


def drain_queue(url: str, queue: str, idle: float = 1.0) -> list[tuple[pika.BasicProperties, bytes]]:
    """Consume and ack everything in a queue (a consumer, not basic.get: work queues have a single
    active consumer, which quorum queues do not allow basic.get on)."""
    out: list[tuple[pika.BasicProperties, bytes]] = []
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        waiting = int(ch.queue_declare(queue, passive=True).method.message_count)
        if waiting:
            for method, props, body in ch.consume(queue, auto_ack=True, inactivity_timeout=idle):
                if method is None:
                    break
                out.append((props, body))
                if len(out) >= waiting:
                    break
            ch.cancel()
        return out
    finally:
        conn.close()
