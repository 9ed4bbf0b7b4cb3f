"""A tiny real HTTP receiver standing in for a national customs system until the simulators exist.

Like customs, it detects duplicates by message ID: the first receipt takes *effect*, later ones are
answered but change nothing. ``received`` counts every POST, ``effects`` only first receipts, so a test
can tell at-least-once delivery (receipts ≥ 1) from exactly-once effect (effects == 1).
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import threading
import urllib.parse
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from gateway.errors import Code
from gateway.relay.envelope import Envelope
from gateway.relay.outcome import Done, Final, Outcome, Retry
from gateway.settings import current


class SinkState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.order: dict[str, list[str]] = defaultdict(list)  # carnet → message IDs in effect order
        self.fail_first: dict[str, int] = {}  # message ID → how many receipts to answer 503

    def take(self, message_id: str, carnet: str) -> tuple[int, bool]:
        with self.lock:
            self.received[message_id] += 1
            n = self.received[message_id]
            if n <= self.fail_first.get(message_id, 0):
                return 503, False
            first_ok = n == self.fail_first.get(message_id, 0) + 1
            if first_ok:
                self.order[carnet].append(message_id)
            return 200, not first_ok

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            effects = sum(len(v) for v in self.order.values())
            return {
                "receipts": sum(self.received.values()),
                "unique": len(self.received),
                "effects": effects,
                "counts": dict(self.received),
                "order": {k: list(v) for k, v in self.order.items()},
            }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per worker thread
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK adds 40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _reply(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        mid = self.headers.get("X-Message-Id", "")
        if not mid:
            self._reply(400, {"error": "no message ID"})
            return
        status, duplicate = self.server.state.take(mid, self.headers.get("X-Carnet-Id", ""))
        self._reply(status, {"message_id": mid, "accepted": status == 200, "duplicate": duplicate})

    def do_GET(self) -> None:
        if self.path.startswith("/stats"):
            self._reply(200, self.server.state.snapshot())
        else:
            self._reply(404, {"error": "not found"})

    def do_DELETE(self) -> None:
        self.server.state.__init__()  # type: ignore[misc]  # reset in place: the Sink and its handlers share it
        self._reply(200, {"reset": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: SinkState

    def handle_error(self, request: object, client_address: object) -> None:
        # a killed worker resets its connection: expected in fault tests, not worth a traceback
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]  # as socketserver passed them


class Sink:
    """Run in a background thread: ``with Sink() as sink: ... sink.url ... sink.state.snapshot()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.state = SinkState()
        self._thread = threading.Thread(target=self._server.serve_forever, name="eata-sink", daemon=True)

    @property
    def state(self) -> SinkState:
        return self._server.state

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> Sink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# -- the delivery callable a worker uses to reach the sink ------------------------------------------
_local = threading.local()


def _connection(url: str) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection | None = getattr(_local, "conn", None)
    if conn is None:
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
        conn.connect()
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see _Handler.setup
        _local.conn = conn
    return conn


def deliver(env: Envelope) -> Outcome:
    """POST the body to ``$EATA_SINK_URL``; 2xx Done (its answer is the result event), 5xx or no answer Retry."""
    url = current().sink_url
    headers = {"X-Message-Id": env.message_id, "X-Carnet-Id": env.carnet_id, "Content-Type": env.content_type}
    try:
        conn = _connection(url)
        conn.request("POST", "/deliver", body=env.body, headers=headers)
        resp = conn.getresponse()
        answer = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        _local.conn = None
        return Retry(f"sink unreachable: {exc}", Code.CUSTOMS_UNAVAILABLE)
    if 200 <= resp.status < 300:
        return Done(answer)
    if resp.status >= 500:
        return Retry(f"sink answered {resp.status}", Code.CUSTOMS_UNAVAILABLE)
    return Final(Code.CUSTOMS_REJECTED, f"sink answered {resp.status}: {answer[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description="eATA relay test receiver")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    sink = Sink(port=args.port)
    print(f"sink listening on {sink.url}", flush=True)
    sink._server.serve_forever()


if __name__ == "__main__":
    main()
