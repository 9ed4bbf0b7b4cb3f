"""Server-sent events (GET /v1/events?wait_s=…, sse-starlette): the same lines as before (``id``, ``event``,
``data``), woken by this process's commits rather than polling, a slower poll for events another replica
wrote, keep-alive comments, and a stream that ends when its client goes."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from gateway.api.routes import events as route
from gateway.store import Database
from tests.api.conftest import Gateway


@pytest.fixture(autouse=True)
def chatty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep-alive comments often, so a listener notices soon that its test is done."""
    monkeypatch.setattr(route, "SSE_PING_S", 0.2)


@contextmanager
def listening(gw: Gateway, **params: object) -> Iterator[queue.Queue[str]]:
    """The stream's raw lines as they arrive; closing the client at the end is the client going away."""
    lines: queue.Queue[str] = queue.Queue()
    opened = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        with gw.client("operator") as op, op.stream("GET", "/v1/events", params=params) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            opened.set()
            buffer = ""
            for chunk in stream.iter_text():
                buffer += chunk
                *done, buffer = buffer.split("\n")
                for line in done:
                    lines.put(line)
                if stop.is_set():
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert opened.wait(10)
    try:
        yield lines
    finally:
        stop.set()
        thread.join(15)


def next_event(lines: queue.Queue[str], timeout: float) -> list[str]:
    """The next event's lines (keep-alive comments skipped)."""
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if line.startswith(":"):
            continue
        if line == "" and out:
            return out
        if line:
            out.append(line)


def test_events_arrive_as_they_are_committed_in_the_same_format(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(route, "SSE_POLL_S", 60.0)  # only the bell can wake the stream within this test
    db = gateway.service.db
    db.add_event("NO/2026/000001", "created", {"by": "test"}, territory="NO")
    with listening(gateway, wait_s=30) as lines:
        first = next_event(lines, 10)  # what was there already
        event_id = int(first[0].removeprefix("id: "))
        assert first[1] == "event: created"
        assert json.loads(first[2].removeprefix("data: "))["id"] == event_id
        for n in range(3):
            start = time.monotonic()
            db.add_event("NO/2026/000001", "committed", {"n": n}, territory="NO")
            got = next_event(lines, 10)
            assert time.monotonic() - start < 5  # woken at once, not after the 60 s poll
            assert got[0] == f"id: {event_id + n + 1}" and got[1] == "event: committed", got
            data = json.loads(got[2].removeprefix("data: "))
            assert data["kind"] == "committed" and data["carnet_id"] == "NO/2026/000001"
            assert data["id"] == event_id + n + 1 and len(got) == 3


def test_events_of_another_replica_arrive_on_the_slower_poll(
    gateway: Gateway, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(route, "SSE_POLL_S", 0.3)
    other = Database(db_url)  # another replica's database handle: its commits ring another bell
    with listening(gateway, wait_s=30) as lines:
        other.add_event("NO/2026/000002", "held", {"why": "test"}, territory="NO")
        got = next_event(lines, 10)
        assert got[1] == "event: held"


def test_a_quiet_stream_sends_keep_alive_comments_and_ends_when_the_client_goes(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(route, "SSE_POLL_S", 60.0)
    bell = gateway.service.db.events_written
    with listening(gateway, wait_s=120) as lines:
        comment = lines.get(timeout=10)
        assert comment.startswith(": ping"), comment
        assert bell._waiters  # the stream sleeps on the bell, no polling
    # the client went: the server notices (its keep-alive write fails or the disconnect arrives) and stops
    deadline = time.monotonic() + 10
    while bell._waiters and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not bell._waiters
    with httpx.Client(base_url=gateway.url, timeout=10) as anon:
        assert anon.get("/healthz").status_code == 200  # the server carries on
