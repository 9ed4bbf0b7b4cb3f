"""Operator tools for a territory's dead-letter queue: list, show, replay, purge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel

from gateway.relay.connect import connect
from gateway.relay.envelope import H_ATTEMPTS, H_CODE, H_GENERATION, H_ORIGIN, H_REASON
from gateway.relay.topology import dead_queue, hash_exchange, partitioned, work_queue


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    kind: str
    carnet_id: str
    code: int | None
    reason: str
    attempts: int
    size: int
    headers: dict[str, object]
    body: bytes


def _text(v: object) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def _letter(props: pika.BasicProperties, body: bytes) -> DeadLetter:
    h = dict(props.headers or {})
    code = h.get(H_CODE)
    return DeadLetter(
        message_id=props.message_id or "",
        kind=props.type or "",
        carnet_id=_text(h.get("x-eata-carnet", "")),
        code=int(code) if code is not None else None,
        reason=_text(h.get(H_REASON, "")),
        attempts=int(h.get(H_ATTEMPTS, 0) or 0),
        size=len(body),
        headers={k: _text(v) for k, v in h.items() if not k.startswith("x-death")},
        body=body,
    )


@contextmanager
def _channel(url: str) -> Iterator[BlockingChannel]:
    conn = connect(url)
    try:
        yield conn.channel()
    finally:
        if conn.is_open:
            conn.close()


def depth(url: str, territory: str) -> int:
    with _channel(url) as ch:
        return int(ch.queue_declare(dead_queue(territory), passive=True).method.message_count)


def list_letters(url: str, territory: str, limit: int = 100) -> list[DeadLetter]:
    """Browse without consuming: everything fetched is nacked back when the channel closes."""
    out: list[DeadLetter] = []
    with _channel(url) as ch:
        while len(out) < limit:
            method, props, body = ch.basic_get(dead_queue(territory), auto_ack=False)
            if method is None:
                break
            out.append(_letter(props, body))
        # closing the channel requeues every unacked message, in order
    return out


def show(url: str, territory: str, message_id: str) -> DeadLetter | None:
    for letter in list_letters(url, territory, limit=100_000):
        if letter.message_id == message_id:
            return letter
    return None


def replay(url: str, territory: str, message_ids: set[str] | None = None, limit: int | None = None) -> int:
    """Move dead letters back to the work queue (all, or the given IDs) with attempt reset.

    The generation header is bumped so the worker's dedup record (outcome "dead") lets it through. Each
    copy is confirmed before its dead letter is acked: a crash duplicates at worst, never loses. A
    partitioned territory's letters go through its hash exchange, to their carnet's partition.
    """
    moved = 0
    with _channel(url) as ch:
        split = partitioned(ch.connection, territory)
        exchange, key = (hash_exchange(territory), "") if split else ("", work_queue(territory))
        ch.confirm_delivery()
        src = dead_queue(territory)
        while limit is None or moved < limit:
            method, props, body = ch.basic_get(src, auto_ack=False)
            if method is None:
                break
            if message_ids is not None and props.message_id not in message_ids:
                continue  # stays unacked; requeued when we close
            headers = {
                k: v
                for k, v in dict(props.headers or {}).items()
                if k not in {H_REASON, H_CODE, H_ATTEMPTS, H_ORIGIN} and not k.startswith("x-death")
            }
            headers["x-eata-attempt"] = 1
            headers[H_GENERATION] = int(headers.get(H_GENERATION, 0) or 0) + 1
            props.headers = headers
            props.delivery_mode = pika.DeliveryMode.Persistent.value
            ch.basic_publish(exchange, key, body, props, mandatory=True)
            ch.basic_ack(method.delivery_tag)
            moved += 1
    return moved


def purge(url: str, territory: str) -> int:
    with _channel(url) as ch:
        return int(ch.queue_purge(dead_queue(territory)).method.message_count)
