"""Peeking into the test broker's queues (relay and chain tests alike)."""

from __future__ import annotations

import pika


def depth(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        conn.close()


def drain_queue(url: str, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Consume and ack everything in a queue."""
    out: list[tuple[pika.BasicProperties, bytes]] = []
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((props, body))
    finally:
        conn.close()
