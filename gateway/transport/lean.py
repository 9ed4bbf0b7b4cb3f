"""A lean keep-alive HTTP/1.1 client for the relay's hot path: one POST at a time on pooled sockets.

httpx's per-request machinery (request model, h11 state machine, header normalisation, event hooks) cost
the worker ~1 ms a message, more than signing it, and ``http.client`` still ~0.5 ms (its headers go
through the ``email`` parser). Here a POST is one ``sendall`` of head and body and a buffered read of
the status line, the few headers and the body (``Content-Length`` or chunked) on a socket kept open per
endpoint, with what the httpx client gives the same path:

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
MAX_HEADERS = 100
MAX_LINE = 65_536


class _Conn:
    """A socket and its buffered reader."""

    __slots__ = ("host", "rfile", "sock")

    def __init__(self, sock: socket.socket, host: bytes) -> None:
        self.sock, self.rfile, self.host = sock, sock.makefile("rb"), host

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


_idle: dict[_Key, list[_Conn]] = {}
_lock = threading.Lock()


def _open(key: _Key) -> _Conn:
    https, host, port, connect, read, cert = key
    try:
        sock = socket.create_connection((host, port), timeout=connect)
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(f"connect to {host}:{port}: {exc}") from exc
    except OSError as exc:  # refused, unreachable
        raise httpx.ConnectError(f"{exc}") from exc
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if https:  # the handshake within the connect timeout; hostname and chain checked by the context
            sock = _context(cert).wrap_socket(sock, server_hostname=host)
    except TimeoutError as exc:
        sock.close()
        raise httpx.ConnectTimeout(f"TLS handshake with {host}:{port}: {exc}") from exc
    except OSError as exc:  # TLS refused: a certificate not under the trust anchors, a wrong name
        sock.close()
        raise httpx.ConnectError(f"{exc}") from exc
    sock.settimeout(read)  # every read and write after connecting
    default = 443 if https else 80
    return _Conn(sock, (host if port == default else f"{host}:{port}").encode("idna"))


def _take(key: _Key) -> _Conn | None:
    with _lock:
        idle = _idle.get(key)
        return idle.pop() if idle else None


def _give(key: _Key, conn: _Conn) -> None:
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
    """POST ``body``; the answer's status, headers (names in lower case) and content (at most ``limit``
    bytes)."""
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
    key: _Key, conn: _Conn, target: str, body: bytes, headers: Mapping[str, str], limit: int
) -> Reply:
    lines = [b"POST ", target.encode(), b" HTTP/1.1\r\nHost: ", conn.host, b"\r\nContent-Length: "]
    lines.append(str(len(body)).encode())
    for name, value in headers.items():
        lines += (b"\r\n", name.encode("latin-1"), b": ", value.encode("latin-1"))
    lines += (b"\r\n\r\n", body)
    try:
        try:
            conn.sock.sendall(b"".join(lines))
            status_line = conn.rfile.readline(MAX_LINE)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _Stale() from exc
        if not status_line:
            raise _Stale()
        status, fields = _head(conn, status_line)
        while 100 <= status < 200:  # interim answers (100 Continue): the final one follows
            status, fields = _head(conn, conn.rfile.readline(MAX_LINE))
        content, close = _body(conn, fields, limit)
    except (_Stale, TooLarge):
        conn.close()
        raise
    except TimeoutError as exc:
        conn.close()
        raise httpx.ReadTimeout(f"no complete answer within {key[4]} s") from exc
    except httpx.HTTPError:
        conn.close()
        raise
    except (OSError, ValueError) as exc:
        conn.close()
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
    if close:
        conn.close()
    else:
        _give(key, conn)
    return Reply(status, fields, content)


def _head(conn: _Conn, status_line: bytes) -> tuple[int, dict[str, str]]:
    version, _, rest = status_line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or not code.isdigit():
        raise httpx.RemoteProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    fields: dict[str, str] = {":version": version.decode("latin-1")}  # taken out again by _body
    for _ in range(MAX_HEADERS + 1):
        line = conn.rfile.readline(MAX_LINE)
        if line in (b"\r\n", b"\n"):
            return int(code), fields
        if not line:
            raise httpx.RemoteProtocolError("connection closed inside the answer's headers")
        name, sep, value = line.partition(b":")
        if not sep:
            raise httpx.RemoteProtocolError(f"malformed header line {line[:80]!r}")
        key = name.strip().decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        fields[key] = f"{fields[key]}, {text}" if key in fields else text
    raise httpx.RemoteProtocolError(f"more than {MAX_HEADERS} header lines")


def _body(conn: _Conn, fields: dict[str, str], limit: int) -> tuple[bytes, bool]:
    """The content, and whether the connection must be closed after it."""
    version = fields.pop(":version")
    tokens = {t.strip().lower() for t in fields.get("connection", "").split(",")}
    close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if "chunked" in fields.get("transfer-encoding", "").lower():
        parts: list[bytes] = []
        size = 0
        while True:
            line = conn.rfile.readline(MAX_LINE)
            n = int(line.split(b";", 1)[0].strip() or b"x", 16)  # ValueError → ReadError
            if n == 0:
                while conn.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts), close
            size += n
            if size > limit:
                raise TooLarge(limit, None)
            chunk = conn.rfile.read(n + 2)
            if len(chunk) < n + 2:
                raise httpx.ReadError("connection closed inside a chunk")
            parts.append(chunk[:n])
    declared = fields.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise httpx.RemoteProtocolError(f"Content-Length {declared!r}")
        n = int(declared)
        if n > limit:
            raise TooLarge(limit, n)
        content = conn.rfile.read(n)
        if len(content) < n:
            raise httpx.ReadError(f"connection closed after {len(content)} of {n} bytes")
        return content, close
    content = conn.rfile.read(limit + 1)  # neither: the answer ends when the server closes
    if len(content) > limit:
        raise TooLarge(limit, None)
    return content, True
