"""Connections to the broker: one setting may name several nodes of a cluster.

``EATA_AMQP_URL`` (and every ``--amqp``) is one URL or several, comma-separated
(``amqp://u:p@rmq-0/%2F,amqp://u:p@rmq-1/%2F,amqp://u:p@rmq-2/%2F``). Every part connects to the first node
that answers, in the order given; when its connection is lost, its reconnect loop comes back here and lands
on the next one that answers. With quorum queues any node serves any queue, so nothing but the connection
moves. Every AMQP connection of the gateway is made here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pika
from pika.exceptions import AMQPConnectionError

T = TypeVar("T")


def node_urls(url: str) -> list[str]:
    """The node URLs of a setting, in order; a single URL is a list of one."""
    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise ValueError("no broker URL given")
    return urls


def parameters(
    url: str, *, heartbeat: int | None = None, timeout: float | None = None
) -> list[pika.URLParameters]:
    """pika parameters for each node; ``timeout`` bounds the socket and a blocked connection."""
    out = []
    for node in node_urls(url):
        params = pika.URLParameters(node)
        if heartbeat is not None:
            params.heartbeat = heartbeat
        if timeout is not None:
            params.socket_timeout = params.blocked_connection_timeout = timeout
        out.append(params)
    return out


def connect(
    url: str | list[pika.URLParameters], *, heartbeat: int | None = None, timeout: float | None = None
) -> pika.BlockingConnection:
    """A blocking connection to the first node that answers (pika tries the list in order)."""
    params = parameters(url, heartbeat=heartbeat, timeout=timeout) if isinstance(url, str) else url
    return pika.BlockingConnection(params)


def first_reachable(url: str, open_one: Callable[[pika.URLParameters], T]) -> T:
    """``open_one`` on each node in turn until one opens; raises the last node's error otherwise (for
    connections pika cannot give a list to, such as the publisher's SelectConnection)."""
    error: BaseException | None = None
    for params in parameters(url):
        try:
            return open_one(params)
        except (AMQPConnectionError, ConnectionError, OSError) as exc:
            error = exc
    assert error is not None
    raise error
