"""A lean keep-alive HTTP/1.1 client for the relay's hot path: ``http.client`` on pooled connections.

httpx's per-request machinery (request model, h11 state machine, header normalisation, event hooks) cost
the worker ~1 ms a message, more than signing it. Here a POST is ``http.client``'s few writes and one
read on a connection kept open per endpoint, with what the httpx client gives the same path:

- timeouts: the adapter's connect timeout to connect, its read timeout for every read and write after;
- TLS: the same context as :func:`gateway.transport.base.http_client` (system trust, hostname checked,
  the territory's client certificate for mTLS);
- no redirects followed, no proxies from the environment;
- failures raised as the httpx exception classes (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``,
  ``ReadError``, ``RemoteProtocolError``), so :func:`gateway.transport.base.from_exception` maps them as
  it maps httpx's own;
- an answer larger than ``limit`` bytes is not read (:class:`TooLarge`) and its connection is dropped.

A connection that sat idle in the pool may have been closed by the server: when reusing one fails
before any byte of an answer arrived, the request goes once more on a fresh connection (customs systems
are idempotent by message ID; httpcore does the same for a stale pooled connection).
Connections are taken out of the pool for one exchange, so threads never share one.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from gateway.adapter_spec import Adapter

MAX_IDLE = 16  # idle connections kept per endpoint (as the httpx client's keep-alive limit)


class TooLarge(httpx.HTTPError):
    """The answer is over the limit; it was not read."""

    def __init__(self, limit: int, declared: int | None) -> None:
        self.limit, self.declared = limit, declared
        size = f"{declared} bytes" if declared is not None else "more"
        super().__init__(f"customs answered {size}, over the {limit}-byte limit")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    content: bytes


@dataclass(frozen=True, slots=True)
class _Endpoint:
    https: bool
    host: str
    port: int
    target: str  # path and query


@cache
def _endpoint(url: str) -> _Endpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise httpx.UnsupportedProtocol(f"not an http(s) URL: {url!r}")
    https = parts.scheme == "https"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Endpoint(https, parts.hostname, parts.port or (443 if https else 80), target)


@cache
def _context(client_cert: str | None) -> ssl.SSLContext:
    from gateway.transport.base import _tls

    return _tls(client_cert)


_Key = tuple[bool, str, int, float, float, str | None]
_idle: dict[_Key, list[http.client.HTTPConnection]] = {}
_lock = threading.Lock()


def _open(key: _Key) -> http.client.HTTPConnection:
    https, host, port, connect, read, cert = key
    conn: http.client.HTTPConnection
    if https:
        conn = http.client.HTTPSConnection(host, port, timeout=connect, context=_context(cert))
    else:
        conn = http.client.HTTPConnection(host, port, timeout=connect)
    try:
        conn.connect()
    except TimeoutError as exc:
        conn.close()
        raise httpx.ConnectTimeout(f"connect to {host}:{port}: {exc}") from exc
    except OSError as exc:  # refused, unreachable, TLS refused (wrong certificate)
        conn.close()
        raise httpx.ConnectError(f"{exc}") from exc
    assert conn.sock is not None
    conn.sock.settimeout(read)  # every read and write after connecting
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle + delayed-ACK stall
    return conn


def _take(key: _Key) -> http.client.HTTPConnection | None:
    with _lock:
        idle = _idle.get(key)
        return idle.pop() if idle else None


def _give(key: _Key, conn: http.client.HTTPConnection) -> None:
    with _lock:
        idle = _idle.setdefault(key, [])
        if len(idle) < MAX_IDLE:
            idle.append(conn)
            return
    conn.close()


def close_all() -> None:
    """Close every idle connection (tests, shutdown)."""
    with _lock:
        conns = [c for idle in _idle.values() for c in idle]
        _idle.clear()
    for c in conns:
        c.close()


def post(adapter: Adapter, url: str, body: bytes, headers: Mapping[str, str], *, limit: int) -> Reply:
    """POST ``body``; the answer's status, headers and content (at most ``limit`` bytes)."""
    ep = _endpoint(url)
    t = adapter.timeouts
    key: _Key = (ep.https, ep.host, ep.port, t.connect, t.read, adapter.tls_client_cert)
    conn = _take(key)
    reused = conn is not None
    while True:
        if conn is None:
            conn = _open(key)
        try:
            return _exchange(key, conn, ep.target, body, headers, limit)
        except _Stale:
            conn.close()
            if not reused:
                raise httpx.RemoteProtocolError("server closed the connection without answering") from None
            conn, reused = None, False  # once more, on a fresh connection


class _Stale(Exception):
    """The connection failed before any byte of an answer arrived."""


def _exchange(
    key: _Key,
    conn: http.client.HTTPConnection,
    target: str,
    body: bytes,
    headers: Mapping[str, str],
    limit: int,
) -> Reply:
    try:
        conn.request("POST", target, body=body, headers=dict(headers))
        resp = conn.getresponse()
    except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
        raise _Stale() from exc
    except TimeoutError as exc:
        conn.close()
        raise httpx.ReadTimeout(f"no answer within {key[4]} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
    try:
        declared = resp.getheader("Content-Length")
        size = int(declared) if declared and declared.isdigit() else None
        if size is not None and size > limit:
            raise TooLarge(limit, size)
        content = resp.read(limit + 1)  # the whole answer: it is shorter (chunked reads to the end)
        if len(content) > limit:
            raise TooLarge(limit, None)
    except TooLarge:
        conn.close()
        raise
    except TimeoutError as exc:
        conn.close()
        raise httpx.ReadTimeout(f"answer not complete within {key[4]} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
    reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, content)
    if resp.will_close:
        conn.close()
    else:
        _give(key, conn)
    return reply
