"""The service end to end over HTTP: API → outbox → real RabbitMQ → relay worker → national simulator →
result consumer → events, then customs and representatives acting on what came back, each seeing only
what is theirs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.simulators.testing import World, loopback_world
from devtools.rabbit import RabbitNode
from gateway.adapters.delivery import relay_deliver
from gateway.relay.store import Store
from gateway.relay.worker import Worker
from gateway.runtime import Runtime
from gateway.serving import ThreadedServer, free_port
from tests.api.conftest import TRAVEL, day, draft_carnet

pytestmark = pytest.mark.broker
CID = "NO/2026/000123"
PIN = "482913"


@dataclass
class Live:
    url: str
    runtime: Runtime
    keys: dict[str, str]

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[who]}, timeout=30)


@pytest.fixture
def live(rabbit: RabbitNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    with loopback_world(tmp_path) as world:
        yield from _gateway(rabbit, world, tmp_path, monkeypatch)


def _gateway(
    rabbit: RabbitNode, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Live]:
    from gateway.api.settings import Settings

    port = free_port()
    monkeypatch.setenv("EATA_AMQP_URL", rabbit.url)
    monkeypatch.setenv("EATA_DATABASE_URL", f"sqlite:///{tmp_path / 'gateway.db'}")
    monkeypatch.setenv("EATA_CALLBACK_URL", f"http://127.0.0.1:{port}/customs/callback")
    runtime = Runtime(Settings()).start()
    server = ThreadedServer(runtime.app, port=port).start()
    worker = Worker(
        rabbit.url, "NO", relay_deliver, Store(f"sqlite:///{tmp_path / 'relay-no.db'}"), concurrency=2
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    keys = {}
    for who, role, territory in [
        ("issuer", "issuer", None),
        ("holder", "holder", None),
        ("rep", "representative", None),
        ("customs_no", "customs", "NO"),
        ("customs_ch", "customs", "CH"),
    ]:
        _, keys[who] = runtime.db.add_party(role, who, territory)
    try:
        yield Live(server.url, runtime, keys)
    finally:
        worker.stop()
        thread.join(timeout=20)
        server.stop()
        runtime.stop()


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def wait_for(client: httpx.Client, transaction_id: str, kinds: set[str], timeout: float = 60) -> dict:
    deadline, after = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        for e in ok(client.get("/v1/events", params={"after": after})):
            after = e["id"]
            if e["transaction_id"] == transaction_id and e["kind"] in kinds:
                return e
        time.sleep(0.1)
    raise AssertionError(f"no {kinds} event for {transaction_id} within {timeout} s")


def signed_carnet(live: Live) -> None:
    with live.client("issuer") as issuer, live.client("holder") as holder:
        ok(issuer.post("/v1/carnets", json={"carnet": draft_carnet(CID), "pin": PIN}), 201)
        ok(issuer.post(f"/v1/carnets/{CID}/issue"))
        ok(holder.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}))
        ok(holder.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"}))


def declare(live: Live, kind: str, office: str, items: str = "1-4") -> dict:
    with live.client("holder") as holder:
        body = {"kind": kind, "territory": office[:2], "office": office, "date": day(0), "items": items}
        body["travel_id"] = "t1"
        tx = ok(holder.post(f"/v1/carnets/{CID}/transactions", json=body), 201)
        tracking = ok(holder.post(f"/v1/carnets/{CID}/transactions/{tx['transaction_id']}/submit"), 202)
        assert tracking["tracking_id"] and tracking["status"] == "submitted"
        return tx


def test_submission_is_relayed_over_rabbitmq_and_committed(live: Live) -> None:
    signed_carnet(live)
    with live.client("holder") as holder:
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
        tx = declare(live, "activation", "NO01011A", "all")
        committed = wait_for(holder, tx["transaction_id"], {"committed", "rejected", "held"})
        assert committed["kind"] == "committed", committed
        assert committed["detail"]["reference"].startswith(day(0)[2:4] + "NO")  # an MRN Norway issued
        timeline = ok(holder.get(f"/v1/carnets/{CID}/transactions/{tx['transaction_id']}/timeline"))
        kinds = [e["kind"] for e in timeline]
        assert kinds.index("submitted") < kinds.index("committed")
        doc = ok(holder.get(f"/v1/carnets/{CID}"))
        stored = next(t for t in doc["transactions"] if t["transaction_id"] == tx["transaction_id"])
        assert stored["state"] == "committed" and stored["endorsement"]["office"] == "NO01011A"

        # operations see it too: the outcome counted with its latency, queues sampled from the broker
        text = httpx.get(f"{live.url}/metrics", timeout=30).text
        assert 'eata_messages_total{kind="activation",outcome="committed",territory="NO"} 1.0' in text
        assert 'eata_customs_latency_seconds_count{territory="NO"} 1.0' in text
        assert 'eata_queue_depth{queue="eata.work.NO",role="work",territory="NO"} 0.0' in text
        assert 'eata_dlq_size{territory="NO"} 0.0' in text
        assert 'eata_outbox_messages{state="outbox_pending"} 0.0' in text

        # customs see their territory's transactions and nobody else's
        with live.client("customs_no") as no, live.client("customs_ch") as ch:
            assert any(e["transaction_id"] == tx["transaction_id"] for e in ok(no.get("/v1/customs/events")))
            assert all(e["transaction_id"] != tx["transaction_id"] for e in ok(ch.get("/v1/customs/events")))
            assert ch.get(f"/v1/carnets/{CID}").status_code in (403, 404)


def test_customs_cancel_with_the_holders_code_and_a_reason(live: Live) -> None:
    signed_carnet(live)
    with live.client("holder") as holder:
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
        tx = declare(live, "activation", "NO01011A", "all")
        assert wait_for(holder, tx["transaction_id"], {"committed"})["kind"] == "committed"
        path = f"/v1/customs/transactions/{CID}/{tx['transaction_id']}/cancel"
        # the holder tells the officer the transaction's cancellation code (DOMAIN.md: mutual consent)
        code = next(
            t["cancellation_code"]
            for t in ok(holder.get(f"/v1/carnets/{CID}"))["transactions"]
            if t["transaction_id"] == tx["transaction_id"]
        )
        body = {"code": code, "reason": "declared at the wrong office"}
        # the holder cannot cancel; customs of another territory do not even see the transaction
        assert holder.post(path, json=body).status_code == 403
        with live.client("customs_ch") as ch:
            refused = ch.post(path, json=body)
            assert (
                refused.status_code == 404 and refused.json()["problems"][0]["pointer"] == "/transaction_id"
            )
        with live.client("customs_no") as no:
            wrong = no.post(path, json={**body, "code": "WRONG123"})
            assert wrong.status_code in (403, 409, 422) and wrong.json()["problems"][0]["code"] // 100 in (
                2,
                3,
            )
            cancelled = ok(no.post(path, json=body))
            assert cancelled["state"] == "cancelled"
            assert cancelled["cancellation"]["reason"] == "declared at the wrong office"
        event = wait_for(holder, tx["transaction_id"], {"cancelled"}, timeout=5)
        assert event["detail"]["reason"] == "declared at the wrong office"


def test_representative_sees_only_the_shared_vouchers(live: Live) -> None:
    signed_carnet(live)
    with live.client("holder") as holder, live.client("rep") as rep:
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
        act = declare(live, "activation", "NO01011A", "all")
        wait_for(holder, act["transaction_id"], {"committed"})
        body = {
            "kind": "exportation",
            "territory": "NO",
            "office": "NO02011B",
            "date": day(0),
            "items": "1-2",
        }
        export = ok(holder.post(f"/v1/carnets/{CID}/transactions", json={**body, "travel_id": "t1"}), 201)

        link = ok(
            holder.post(
                f"/v1/carnets/{CID}/travels/t1/shares",
                json={"transactions": [export["transaction_id"]], "ttl_s": 600},
            ),
            201,
        )["link"]
        seen = ok(rep.get(f"/v1/shared/{link}"))
        assert [v["transaction_id"] for v in seen["vouchers"]] == [export["transaction_id"]]
        assert "pin" not in str(seen).lower()
        # the rest of the carnet stays closed to the representative
        assert rep.get(f"/v1/carnets/{CID}").status_code in (403, 404)
        assert rep.get(f"/v1/carnets/{CID}/transactions/{act['transaction_id']}/timeline").status_code in (
            403,
            404,
        )
        # a forged or altered link opens nothing, and only representatives open links
        token, _, mac = link.partition(".")
        forged = rep.get(f"/v1/shared/{token}.{'0' * len(mac)}")
        assert forged.status_code == 403 and forged.json()["problems"][0]["pointer"] == "/link"
        assert holder.get(f"/v1/shared/{link}").status_code == 403


def test_an_expired_share_opens_nothing(live: Live) -> None:
    signed_carnet(live)
    with live.client("holder") as holder, live.client("rep") as rep:
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
        body = {"kind": "activation", "territory": "NO", "office": "NO01011A", "date": day(0), "items": "all"}
        tx = ok(holder.post(f"/v1/carnets/{CID}/transactions", json={**body, "travel_id": "t1"}), 201)
        owner = live.runtime.db.party_by_key(live.keys["holder"])
        link, _ = live.runtime.service.share(owner, CID, "t1", [tx["transaction_id"]], ttl_s=0)
        time.sleep(0.01)
        gone = rep.get(f"/v1/shared/{link}")
        assert gone.status_code == 403 and "expired" in gone.json()["problems"][0]["message"]


def test_issuer_returns_and_closes_only_its_own_carnets(live: Live) -> None:
    signed_carnet(live)
    _, other = live.runtime.db.add_party("issuer", "another chamber")
    with httpx.Client(base_url=live.url, headers={"X-API-Key": other}) as stranger:
        assert stranger.post(f"/v1/carnets/{CID}/return").status_code in (403, 404)
    with live.client("issuer") as issuer, live.client("holder") as holder:
        returned = ok(issuer.post(f"/v1/carnets/{CID}/return"))
        assert returned["carnet"]["status"] == "closed"  # returned to its issuer: closed for good
        assert "returned" in [e["kind"] for e in ok(holder.get("/v1/events"))]
        # a returned carnet takes no new vouchers (workflow error, 2xx)
        body = {"kind": "activation", "territory": "NO", "office": "NO01011A", "date": day(0), "items": "all"}
        refused = holder.post(f"/v1/carnets/{CID}/transactions", json=body)
        assert refused.status_code in (409, 422) and refused.json()["problems"][0]["code"] // 100 == 2


def test_commit_is_pushed_as_a_server_sent_event(live: Live) -> None:
    signed_carnet(live)
    seen: list[tuple[str, dict]] = []
    ready = threading.Event()

    def listen() -> None:
        with live.client("holder") as h, h.stream("GET", "/v1/events", params={"wait_s": 30}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            ready.set()
            kind = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind:
                    seen.append((kind, json.loads(line.removeprefix("data: "))))
                    if kind == "committed":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)
    with live.client("holder") as holder:
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
    tx = declare(live, "activation", "NO01011A", "all")
    listener.join(40)
    kinds = [k for k, e in seen if e["transaction_id"] == tx["transaction_id"]]
    assert kinds[-1] == "committed" and "submitted" in kinds, seen
