"""Webhook subscriptions: a party's events of the chosen kinds pushed to its URL — signed, in order, at
least once, only what that party may see; a failing receiver gets the event again later."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook

from gateway.api.app import create_app
from gateway.api.service import Service
from gateway.api.webhooks import WebhookDispatcher
from gateway.model import load_document
from gateway.serving import serving
from gateway.store import Database
from tests.conftest import EXAMPLES

DOC = load_document((EXAMPLES / "journey-no-eu-ch.json").read_bytes())
CID = DOC.carnet.carnet_id


@dataclass
class Receiver:
    url: str
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_next: int = 0


@dataclass
class World:
    url: str
    db: Database
    keys: dict[str, str]
    receiver: Receiver
    dispatcher: WebhookDispatcher

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[who]}, timeout=10)


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("EATA_WEBHOOK_ALLOW", "127.0.0.1/32")  # the receiver is local in these tests
    sink = FastAPI()
    receiver = Receiver("")

    @sink.post("/hook")
    async def hook(request: Request) -> Response:
        if receiver.fail_next:
            receiver.fail_next -= 1
            return Response(status_code=503)
        receiver.got.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    db = Database(db_url)  # a SQLite file, then a fresh PostgreSQL database
    service = Service(db, share_secret="test")
    keys = {}
    issuer, keys["issuer"] = db.add_party("issuer", "Oslo Chamber of Commerce")
    holder, keys["holder"] = db.add_party("holder", "Nordlys Film AS")
    _, keys["holder2"] = db.add_party("holder", "someone else")
    db.create_carnet(DOC, issuer.id, "482913")
    db.bind_holder(CID, holder.id)
    with serving(sink) as sink_server, serving(create_app(service)) as server:
        receiver.url = sink_server.url + "/hook"
        dispatcher = WebhookDispatcher(service)
        yield World(server.url, db, keys, receiver, dispatcher)
        dispatcher.stop()


def subscribe(world: World, who: str, events: list[str]) -> dict:
    with world.client(who) as c:
        r = c.post("/v1/webhooks", json={"url": world.receiver.url, "events": events})
    assert r.status_code == 201, r.text
    return r.json()


def test_committed_events_are_pushed_signed_and_only_the_partys_own(world: World) -> None:
    hook = subscribe(world, "holder", ["committed", "rejected"])
    world.db.add_event(CID, "prepared", {"kind": "importation"}, transaction_id="tx-005", territory="CH")
    world.db.add_event(CID, "committed", {"reference": "26CH1"}, transaction_id="tx-005", territory="CH")
    world.db.add_event("GB/2026/999", "committed", {"reference": "X"}, transaction_id="t9", territory="GB")
    assert world.dispatcher.round() == 1
    [(headers, body)] = world.receiver.got
    event = json.loads(body)
    assert (
        event["kind"] == "committed" and event["carnet_id"] == CID and event["detail"]["reference"] == "26CH1"
    )
    # Standard Webhooks: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"> under the whsec_ secret
    assert hook["secret"].startswith("whsec_")
    key = base64.b64decode(hook["secret"].removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == expected
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300
    assert Webhook(hook["secret"]).verify(body, headers)["id"] == event["id"]  # as a receiver checks it
    assert headers["x-eata-event"] == "committed" and str(event["id"]) in headers["webhook-id"]
    assert "x-eata-signature" not in headers
    assert world.dispatcher.round() == 0  # nothing twice
    with world.client("holder2") as other:
        assert other.get("/v1/webhooks").json() == []  # subscriptions are private too


def test_a_failing_receiver_gets_the_event_again_in_order(world: World) -> None:
    subscribe(world, "holder", ["committed", "cancelled"])
    world.db.add_event(CID, "committed", {"reference": "A"}, transaction_id="tx-005", territory="CH")
    world.db.add_event(CID, "cancelled", {"reason": "wrong office"}, transaction_id="tx-005", territory="CH")
    world.receiver.fail_next = 1
    assert world.dispatcher.round(now=1000.0) == 0
    with world.client("holder") as c:
        [state] = c.get("/v1/webhooks").json()
    assert state["failures"] == 1 and state["disabled"] is None
    assert world.dispatcher.round(now=1001.0) == 0  # backing off
    assert world.dispatcher.round(now=1003.0) == 2
    kinds = [json.loads(body)["kind"] for _, body in world.receiver.got]
    assert kinds == ["committed", "cancelled"]


def test_unsubscribe_and_bad_subscriptions(world: World) -> None:
    hook = subscribe(world, "holder", ["committed"])
    with world.client("holder2") as other:
        assert other.delete(f"/v1/webhooks/{hook['id']}").status_code == 404  # not theirs
    with world.client("holder") as c:
        bad = c.post("/v1/webhooks", json={"url": world.receiver.url, "events": ["everything"]})
        assert bad.status_code == 422 and bad.json()["problems"][0]["pointer"] == "/events"
        ftp = c.post("/v1/webhooks", json={"url": "ftp://example.org/x", "events": ["committed"]})
        assert ftp.status_code == 422
        assert c.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    world.db.add_event(CID, "committed", {"reference": "B"}, transaction_id="tx-005", territory="CH")
    assert world.dispatcher.round() == 0 and world.receiver.got == []


@pytest.mark.postgres
def test_two_replicas_dispatching_deliver_each_event_once_in_order(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two gateway replicas (own engines) on one PostgreSQL run their dispatchers at the same moment, round
    after round: every event reaches the receiver once, in order."""
    import threading

    monkeypatch.setenv("EATA_WEBHOOK_ALLOW", "127.0.0.1/32")
    sink = FastAPI()
    got: list[int] = []

    @sink.post("/hook")
    async def hook(request: Request) -> Response:
        got.append(json.loads(await request.body())["id"])
        return Response(status_code=204)

    dbs = [Database(pg_url), Database(pg_url)]
    issuer, _ = dbs[0].add_party("issuer", "Oslo Chamber of Commerce")
    holder, key = dbs[0].add_party("holder", "Nordlys Film AS")
    dbs[0].create_carnet(DOC, issuer.id, "482913")
    dbs[0].bind_holder(CID, holder.id)
    services = [Service(db, share_secret="test") for db in dbs]
    dispatchers = [WebhookDispatcher(s) for s in services]
    with serving(sink) as sink_server, serving(create_app(services[0])) as server:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=10) as c:
            r = c.post("/v1/webhooks", json={"url": sink_server.url + "/hook", "events": ["committed"]})
            assert r.status_code == 201, r.text
        expected: list[int] = []
        for batch in range(4):
            for i in range(10):
                dbs[0].add_event(
                    CID, "committed", {"n": batch * 10 + i}, transaction_id="tx-005", territory="CH"
                )
            expected = [e["id"] for e in dbs[0].events(carnet_ids=[CID]) if e["kind"] == "committed"]
            barrier = threading.Barrier(2)

            def run(d: WebhookDispatcher, b: threading.Barrier = barrier) -> None:
                b.wait(10)
                d.round()

            threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        assert got == expected, (len(got), len(expected))
    for d in dispatchers:
        d.stop()
