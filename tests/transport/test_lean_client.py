"""The relay's lean keep-alive client (gateway.transport.lean) against real HTTP servers on loopback."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conformance.simulators.testing import make_keys
from gateway.adapter_spec import Adapter, Timeouts
from gateway.adapters import registry
from gateway.errors import Code
from gateway.settings import Link
from gateway.transport import lean, soap
from gateway.transport.base import RetryableFailure
from gateway.transport.envelope import SOAP12

ANSWER = (
    f'<e:Envelope xmlns:e="{SOAP12}"><e:Body><c:SubmitDeclarationResponse xmlns:c="{soap.NS}">'
    "<c:status>accepted</c:status><c:ackId>A1</c:ackId></c:SubmitDeclarationResponse></e:Body></e:Envelope>"
).encode()

Behaviour = Callable[[BaseHTTPRequestHandler, bytes], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.requests.append((self.path, dict(self.headers), body))
            self.server.peers.add(self.client_address)
        self.server.behaviour(self, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.peers: set[object] = set()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and timeouts are what these tests make happen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/customs/CH/soap?x=1"


def reply(status: int, content: bytes, close: bool = False) -> Behaviour:
    def go(h: BaseHTTPRequestHandler, _body: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/soap+xml")
        h.send_header("Content-Length", str(len(content)))
        if close:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        h.wfile.write(content)

    return go


def _link(url: str) -> Link:
    return Link("CH", url, "http://127.0.0.1:1/customs/callback/CH", Path("."))


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], _Server]]:
    servers: list[_Server] = []

    def start(behaviour: Behaviour) -> _Server:
        s = _Server(behaviour)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
        return s

    yield start
    lean.close_all()
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def ch() -> Adapter:
    return registry.get("CH").with_(timeouts=Timeouts(connect=1.0, read=0.5))


def test_posts_the_envelope_and_reuses_one_connection(
    serve: Callable[[Behaviour], _Server], ch: Adapter
) -> None:
    s = serve(reply(200, ANSWER))
    for i in range(5):
        outcome = soap.submit(ch, b"<D/>", f"M{i}", link=_link(s.url), lean=True)
        assert outcome == soap.Delivered(None, "A1")
    assert len(s.requests) == 5 and len(s.peers) == 1  # keep-alive: one TCP connection for all five
    path, headers, body = s.requests[0]
    assert path == "/customs/CH/soap?x=1"
    assert headers["SOAPAction"] == f'"{soap.NS}/SubmitDeclaration"'
    assert headers["Content-Type"].startswith("application/soap+xml")
    assert b"<ns0:messageId>M0</ns0:messageId><ns0:document>PEQvPg==</ns0:document>" in body  # base64 <D/>


def test_5xx_is_retryable(serve: Callable[[Behaviour], _Server], ch: Adapter) -> None:
    s = serve(reply(503, b"down for maintenance"))
    outcome = soap.submit(ch, b"<D/>", "M1", link=_link(s.url), lean=True)
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_UNAVAILABLE
    assert "HTTP 503" in outcome.reason and "down for maintenance" in outcome.reason


def test_read_timeout(serve: Callable[[Behaviour], _Server], ch: Adapter) -> None:
    s = serve(lambda h, b: (time.sleep(1.5), reply(200, ANSWER)(h, b)))  # type: ignore[func-returns-value]
    outcome = soap.submit(ch, b"<D/>", "M1", link=_link(s.url), lean=True)
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_TIMEOUT
    assert "ReadTimeout" in outcome.reason


def test_connection_refused(ch: Adapter) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    outcome = soap.submit(ch, b"<D/>", "M1", link=_link(f"http://127.0.0.1:{port}/soap"), lean=True)
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_UNAVAILABLE
    assert "ConnectError" in outcome.reason


def _reset(h: BaseHTTPRequestHandler, _body: bytes) -> None:
    # SO_LINGER 0: close sends RST instead of FIN
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True


def test_connection_reset_is_retryable_and_tried_once_more_only_on_a_reused_connection(
    serve: Callable[[Behaviour], _Server], ch: Adapter
) -> None:
    s = serve(_reset)
    outcome = soap.submit(ch, b"<D/>", "M1", link=_link(s.url), lean=True)
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_UNAVAILABLE
    assert len(s.requests) == 1  # a fresh connection that fails is not tried again here


def test_a_connection_the_server_closed_while_idle_is_replaced(
    serve: Callable[[Behaviour], _Server], ch: Adapter
) -> None:
    calls = {"n": 0}

    def first_ok_then_drop(h: BaseHTTPRequestHandler, body: bytes) -> None:
        calls["n"] += 1
        reply(200, ANSWER)(h, body)
        if calls["n"] == 1:  # keep-alive advertised, then closed: the pooled connection goes stale
            h.close_connection = True

    s = serve(first_ok_then_drop)
    assert soap.submit(ch, b"<D/>", "M1", link=_link(s.url), lean=True) == soap.Delivered(None, "A1")
    time.sleep(0.1)
    assert soap.submit(ch, b"<D/>", "M2", link=_link(s.url), lean=True) == soap.Delivered(None, "A1")
    assert len(s.requests) == 2 and len(s.peers) == 2


def test_an_oversized_answer_is_not_read(serve: Callable[[Behaviour], _Server], ch: Adapter) -> None:
    s = serve(reply(200, b"<x>" + b"a" * 5000 + b"</x>"))
    with pytest.raises(lean.TooLarge):
        lean.post(ch, s.url, b"<D/>", {"Content-Type": "text/xml"}, limit=4096)
    r = lean.post(ch, s.url, b"<D/>", {"Content-Type": "text/xml"}, limit=10_000)
    assert r.status == 200 and len(r.content) == 5007


def test_an_oversized_chunked_answer_is_not_read(serve: Callable[[Behaviour], _Server], ch: Adapter) -> None:
    def chunked(h: BaseHTTPRequestHandler, _body: bytes) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for _ in range(10):
            h.wfile.write(b"400\r\n" + b"a" * 1024 + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")

    s = serve(chunked)
    with pytest.raises(lean.TooLarge):
        lean.post(ch, s.url, b"<D/>", {}, limit=4096)
    assert len(lean.post(ch, s.url, b"<D/>", {}, limit=20_000).content) == 10 * 1024


def test_oversized_soap_answer_is_a_retryable_customs_fault(
    serve: Callable[[Behaviour], _Server], ch: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(soap, "ANSWER_LIMITS", soap.XmlLimits(max_bytes=100, max_depth=32, max_elements=100))
    s = serve(reply(200, ANSWER))
    outcome = soap.submit(ch, b"<D/>", "M1", link=_link(s.url), lean=True)
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_FAULT
    assert "over the 100-byte limit" in outcome.reason


def test_tls_refused_on_a_certificate_not_under_the_trust_anchors(tmp_path: Path, ch: Adapter) -> None:
    parties = make_keys(tmp_path, ["CH"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(parties["gateway"].cert, parties["gateway"].key)  # a TEST CA: not system trust
    s = _Server(reply(200, ANSWER))
    s.socket = context.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{s.server_address[1]}/soap"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            lean.post(ch, url, b"<D/>", {}, limit=1000)
        outcome = soap.submit(ch, b"<D/>", "M1", link=_link(url), lean=True)
        assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_UNAVAILABLE
        assert s.requests == []
    finally:
        s.shutdown()
        s.server_close()


def test_rest_posts_with_the_bearer_token_and_refreshes_it_once_on_401(
    serve: Callable[[Behaviour], _Server],
) -> None:
    from gateway.transport import rest

    grants = {"n": 0}

    def customs(h: BaseHTTPRequestHandler, _body: bytes) -> None:
        if h.path == "/oauth/token":
            grants["n"] += 1
            token = f'{{"access_token": "T{grants["n"]}", "expires_in": 3600}}'.encode()
            reply(200, token)(h, _body)
        elif h.headers.get("Authorization") == "Bearer T1":  # the first token is refused (revoked)
            reply(401, b'{"error": "invalid_token"}')(h, _body)
        else:
            h.send_response(202)
            h.send_header("X-Conversation-ID", "CONV-1")
            h.send_header("Content-Length", "0")
            h.end_headers()

    s = serve(customs)
    base = f"http://127.0.0.1:{s.server_address[1]}"
    gb = registry.get("GB").with_(timeouts=Timeouts(connect=1.0, read=2.0))
    link = Link(
        "GB", f"{base}/customs/GB", f"{base}/cb", Path("."), f"{base}/oauth/token", "eata-gateway-gb", "s"
    )
    outcome = rest.submit(gb, b"<D/>", "M1", link=link, tokens=rest.TokenCache(), lean=True)
    assert outcome == rest.Delivered(None, "CONV-1")
    posts = [(p, h) for p, h, _ in s.requests if p == "/customs/GB/declarations"]
    assert [h["Authorization"] for _, h in posts] == ["Bearer T1", "Bearer T2"] and grants["n"] == 2
    assert posts[1][1]["X-Message-ID"] == "M1" and posts[1][1]["X-Callback-Url"] == f"{base}/cb"
