"""HTTP hygiene, tried as an attacker would against a real server: oversize bodies (streamed and declared),
security headers on every answer, problem documents for unknown routes, authentication before the body is
looked at, hostile correlation IDs and share tokens."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.api.app import create_app
from gateway.api.callback import callback_app
from gateway.api.hygiene import HttpPolicy
from gateway.api.jsonbody import api_routes
from gateway.api.service import Service
from gateway.serving import serving
from gateway.store import Database
from tests.api.conftest import Gateway

MB = 1024 * 1024


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Upload:
    """A 100 MB body streamed in chunks (no Content-Length), counting what the server let through."""

    def __init__(self, total: int = 100 * MB, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        block = b"x" * self.chunk
        while self.sent < self.total:
            self.sent += len(block)
            yield block


def post_streamed(
    url: str, upload: Upload, headers: dict[str, str] | None = None
) -> tuple[httpx.Response, int]:
    """POST ``upload``; also the peak RSS growth of this process (server thread included) meanwhile."""
    base, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss() - base)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        r = httpx.post(url, content=upload, headers=headers or {}, timeout=120, trust_env=False)
    finally:
        done.set()
        sampler.join()
    return r, max(peak[0], rss() - base)


def assert_problem(r: httpx.Response, status: int, code: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["problems"][0]["code"] == code
    assert body["problems"][0]["message"]
    return body


# -- body size ---------------------------------------------------------------------------------------
def test_a_100_mb_streamed_body_is_refused_while_it_is_read(gateway: Gateway) -> None:
    upload = Upload()
    r, grew = post_streamed(
        f"{gateway.url}/v1/carnets",
        upload,
        {"X-API-Key": gateway.keys["issuer"], "Content-Type": "application/json"},
    )
    body = assert_problem(r, 413, 111)
    assert body["problems"][0]["pointer"] == "/"
    assert upload.sent < upload.total  # refused before the client could send it all
    assert grew < 40 * MB  # the body never sat in the server's memory


def test_a_declared_oversize_body_is_refused_before_a_byte_of_it_is_read(gateway: Gateway) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            b"POST /v1/carnets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"X-API-Key: {gateway.keys['issuer']}\r\nContent-Length: {100 * MB}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, data = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(data)["problems"][0]["code"] == 111


def test_the_customs_callback_has_its_own_limit_and_keeps_soap_bodies_it_accepts(tmp_path: Path) -> None:
    service = Service(Database(f"sqlite:///{tmp_path / 'g.db'}"))
    policy = HttpPolicy(max_body=10 * MB, limits=(("/customs/", 64 * 1024),))
    app = create_app(service, callback=callback_app(), http_policy=policy)
    with serving(app) as server:
        upload = Upload(total=100 * MB)
        r, grew = post_streamed(
            f"{server.url}/customs/callback/NO/soap", upload, {"Content-Type": "text/xml; charset=utf-8"}
        )
        assert_problem(r, 413, 111)
        assert upload.sent < upload.total and grew < 40 * MB
        # under the callback's limit the body reaches the callback (a SOAP fault, not a 413)
        small = httpx.post(f"{server.url}/customs/callback/NO/soap", content=b"<a/>" * 1000, trust_env=False)
        assert small.status_code != 413
        # the API's own limit is larger than the callback's
        api = httpx.post(f"{server.url}/v1/carnets", content=b" " * (128 * 1024), trust_env=False)
        assert api.status_code == 403


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.api.settings import Settings

    monkeypatch.setenv("EATA_MAX_BODY", "1234")
    monkeypatch.setenv("EATA_MAX_CALLBACK_BODY", "99")
    policy = HttpPolicy.from_settings(Settings())
    assert policy.limit_for("/v1/carnets") == 1234
    assert policy.limit_for("/customs/callback/NO/soap") == 99


# -- security headers --------------------------------------------------------------------------------
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "cache-control": "no-store",
}


@pytest.mark.parametrize(
    ("method", "path", "key", "status"),
    [
        ("GET", "/healthz", None, 200),
        ("GET", "/metrics", None, 200),
        ("GET", "/v1/carnets/NO/2026/000001", "holder", 404),
        ("GET", "/v1/carnets/NO/2026/000001", None, 403),
        ("GET", "/nothing-here", None, 404),
        ("POST", "/v1/carnets", "issuer", 422),
    ],
)
def test_every_answer_carries_the_security_headers(
    gateway: Gateway, method: str, path: str, key: str | None, status: int
) -> None:
    headers = {"X-API-Key": gateway.keys[key]} if key else {}
    r = httpx.request(method, gateway.url + path, headers=headers, content=b"{}", trust_env=False)
    assert r.status_code == status
    for name, value in SECURITY.items():
        assert r.headers.get(name) == value, name
    assert "strict-transport-security" not in r.headers  # plain HTTP, no trusted proxy saying TLS


def test_hsts_only_behind_tls_from_a_trusted_proxy(gateway: Gateway, tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    r = httpx.get(
        f"{gateway.url}/healthz", headers=forwarded, trust_env=False
    )  # 127.0.0.1: trusted by default
    assert r.headers["strict-transport-security"].startswith("max-age=")
    service = Service(Database(f"sqlite:///{tmp_path / 'g.db'}"))
    untrusted = HttpPolicy(trusted_proxies=frozenset({"10.9.8.7"}))
    with serving(create_app(service, http_policy=untrusted)) as server:
        r = httpx.get(f"{server.url}/healthz", headers=forwarded, trust_env=False)
        assert "strict-transport-security" not in r.headers


# -- problem documents for Starlette's own errors ----------------------------------------------------
def test_unknown_routes_and_methods_are_problem_documents(gateway: Gateway) -> None:
    body = assert_problem(httpx.get(f"{gateway.url}/v2/anything", trust_env=False), 404, 103)
    assert body["problems"][0]["pointer"] == "/path"
    r = httpx.delete(f"{gateway.url}/healthz", trust_env=False)
    body = assert_problem(r, 405, 103)
    assert body["problems"][0]["pointer"] == "/method" and "GET" in r.headers["allow"]


# -- authentication before the body --------------------------------------------------------------------
def _routes_with_a_body(gateway: Gateway) -> list[tuple[str, str]]:
    app = create_app(gateway.service)
    found = []
    for route, _ in api_routes(app):  # those of the role routers too
        if {"POST", "PUT"} & route.methods:
            path = (
                route.path_format.replace("{carnet_id}", "NO/2026/000001")
                .replace("{transaction_id}", "tx1")
                .replace("{travel_id}", "t1")
                .replace("{territory}", "NO")
            )
            found += [(m, path) for m in route.methods & {"POST", "PUT"}]
    return found


def test_a_stranger_with_a_malformed_body_is_refused_as_a_stranger(gateway: Gateway) -> None:
    routes = _routes_with_a_body(gateway)
    assert len(routes) >= 15
    for method, path in routes:
        for headers in ({}, {"X-API-Key": "not-a-key"}):
            r = httpx.request(
                method, gateway.url + path, content=b"{not json", headers=headers, trust_env=False
            )
            assert_problem(r, 403, 305)


# -- correlation IDs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "hostile",
    ["x" * 65, "a b", "abc\tdef", "<script>", 'ab"c', "é", "%0d%0aSet-Cookie:x=1"],
    ids=["long", "space", "tab", "markup", "quote", "non-ascii", "crlf-escaped"],
)
def test_a_hostile_correlation_id_is_replaced(gateway: Gateway, hostile: str) -> None:
    r = httpx.get(f"{gateway.url}/healthz", headers={"X-Correlation-ID": hostile.encode()}, trust_env=False)
    cid = r.headers["x-correlation-id"]
    assert cid != hostile and len(cid) == 32 and all(c in "0123456789abcdef" for c in cid)


def test_a_reasonable_correlation_id_is_kept(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.url}/healthz", headers={"X-Correlation-ID": "abc-123.X:9_z"}, trust_env=False)
    assert r.headers["x-correlation-id"] == "abc-123.X:9_z"


# -- share tokens -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("link", [".X%C3%85", "%C3%85.%C3%85", "abc.%F0%9F%92%A5", "%00.%00", "." * 300])
def test_a_non_ascii_share_token_is_a_clean_refusal(gateway: Gateway, link: str) -> None:
    r = httpx.get(
        f"{gateway.url}/v1/shared/{link}", headers={"X-API-Key": gateway.keys["rep"]}, trust_env=False
    )
    assert_problem(r, 403, 305)
