"""Evidence: every document and every HTTP exchange of a step, as bytes, in files under the out dir.

The gateway's transports share pooled httpx clients; event hooks on them copy each request and response
to the recorder of the *calling thread* (territories run in threads), so nothing else in the process is
recorded and no transport code changes. Authorization headers are redacted: reports get handed around.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

_local = threading.local()
_REDACT = {"authorization", "proxy-authorization", "cookie", "set-cookie"}


class Recorder:
    """Writes one case's evidence into ``root/rel``; ``files`` lists what the current step wrote."""

    def __init__(self, root: Path, rel: Path) -> None:
        self.root, self.rel = root, rel
        (root / rel).mkdir(parents=True, exist_ok=True)
        self.step = 0
        self.files: list[str] = []
        self.exchanges = 0
        self.last_response: bytes | None = None

    def begin(self, step: int) -> None:
        self.step, self.files, self.exchanges, self.last_response = step, [], 0, None

    def write(self, name: str, data: bytes) -> str:
        rel = self.rel / f"step{self.step}-{name}"
        (self.root / rel).write_bytes(data)
        self.files.append(rel.as_posix())
        return rel.as_posix()

    def request(self, request: httpx.Request) -> None:
        self.exchanges += 1
        head = f"{request.method} {request.url} HTTP/1.1\n" + _headers(request.headers)
        self.write(f"http{self.exchanges}-request.txt", head.encode() + b"\n" + _body(request))

    def response(self, response: httpx.Response) -> None:
        body = response.read()
        self.last_response = body
        head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\n" + _headers(response.headers)
        self.write(f"http{self.exchanges}-response.txt", head.encode() + b"\n" + body)


def _headers(headers: httpx.Headers) -> str:
    return "".join(f"{k}: {'(redacted)' if k.lower() in _REDACT else v}\n" for k, v in headers.items())


def _body(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:  # a streamed body: not something our transports send
        return b"(streamed body)"


def current() -> Recorder | None:
    return getattr(_local, "recorder", None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    _local.recorder = recorder
    try:
        yield recorder
    finally:
        _local.recorder = None


def _on_request(request: httpx.Request) -> None:
    if (r := current()) is not None:
        r.request(request)


def _on_response(response: httpx.Response) -> None:
    if (r := current()) is not None:
        r.response(response)


_installed_lock = threading.Lock()


def install(client: httpx.Client) -> None:
    """Add the recording hooks to a pooled client once (they do nothing outside ``recording``)."""
    with _installed_lock:
        hooks = client.event_hooks
        if _on_request in hooks.get("request", []):
            return
        client.event_hooks = {
            "request": [*hooks.get("request", []), _on_request],
            "response": [*hooks.get("response", []), _on_response],
        }
