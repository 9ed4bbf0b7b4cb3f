"""Customs push a claim to the gateway's SOAP callback (gateway-callback.wsdl NotifyClaim): verified under
that territory's trust anchors, relayed along the guarantee chain (customs → guaranteeing association →
issuing association), and closed by the proof the association assembles from its log — or refused back to
customs as a SOAP fault with its code when barred (Annex A Art. 8.4)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import zeep
import zeep.exceptions

from conformance.simulators.testing import make_keys
from devtools.chain_demo import make_chain_keys
from devtools.rabbit import RabbitNode
from gateway.adapters import registry
from gateway.adapters.delivery import signer
from gateway.chain.message import ChainKind, build
from gateway.chain.relay import ChainRelay, KeyRing
from gateway.claims.flow import ClaimFlow
from gateway.model import load_document
from gateway.runtime import Runtime
from gateway.serving import ThreadedServer, free_port
from gateway.transport.soap import HttpxTransport, wsdl_document
from gateway.xmlsafe import serialize
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.broker
DOC = load_document((EXAMPLES / "journey-no-eu-ch.json").read_bytes())
CID = DOC.carnet.carnet_id
PARTIES = ["customs-CH", "CH-SCF", "NO-OCC", "WCF"]


@dataclass
class Live:
    url: str
    runtime: Runtime
    keys: Path
    issuer_key: str


@pytest.fixture
def live(rabbit: RabbitNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    from gateway.api.settings import Settings

    keys, chain_keys = tmp_path / "keys", tmp_path / "chain-keys"
    make_keys(keys, ["CH"])  # national PKI: Swiss customs sign under the territory's trust anchor
    make_chain_keys(chain_keys, PARTIES)  # the chain's own PKI
    port = free_port()
    for name, value in {
        "EATA_AMQP_URL": rabbit.url,
        "EATA_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "EATA_KEYS_DIR": str(keys),
        "EATA_CHAIN_KEYS": str(chain_keys),
        "EATA_CALLBACK_URL": f"http://127.0.0.1:{port}/customs/callback",
    }.items():
        monkeypatch.setenv(name, value)
    runtime = Runtime(Settings())
    issuer, issuer_key = runtime.db.add_party("issuer", "Oslo Chamber of Commerce")
    runtime.db.create_carnet(DOC, issuer.id, "482913")  # the journey, as this gateway logged it
    runtime.start()
    server = ThreadedServer(runtime.app, port=port).start()

    # The associations' side: another installation on the same broker, with the carnet in its own log.
    associations = ChainRelay(rabbit.url, f"sqlite:///{tmp_path / 'associations.db'}", KeyRing(chain_keys))
    flow = ClaimFlow(associations, {CID: DOC})
    associations.declare(PARTIES)
    consumers = [associations.consumer(p, flow.handler) for p in ("CH-SCF", "NO-OCC", "WCF")]
    threads = [threading.Thread(target=c.run, daemon=True) for c in consumers]
    for t in threads:
        t.start()
    try:
        yield Live(server.url, runtime, keys, issuer_key)
    finally:
        for c in consumers:
            c.stop()
        for t in threads:
            t.join(30)
        associations.close()
        server.stop()
        runtime.stop()


def notify_claim(live: Live, claim: dict, *, sender: str = "customs-CH") -> object:
    """What Swiss customs' system does: sign a claim notification and call NotifyClaim (SOAP 1.2)."""
    root = build(ChainKind.CLAIM_NOTIFIED, CID, sender, "CH-SCF", {"claim": claim})
    document = serialize(signer(live.keys.resolve(), registry.get("CH").sim_key).apply(root))
    client = zeep.Client(
        wsdl_document("gateway-callback.wsdl"), transport=HttpxTransport(httpx.Client(trust_env=False))
    )
    service = client.create_service(
        "{urn:eata:gateway:callback:1}GatewayCallbackSoap12", f"{live.url}/customs/callback/CH/soap"
    )
    return service.NotifyClaim(inReplyTo=claim["claim_id"], document=document)


def claim(**over: object) -> dict:
    valid_until = DOC.carnet.valid_until
    data = {
        "claim_id": "CH-2027-17",
        "territory": "CH",
        "carnet_id": CID,
        "items": "1-2",
        "duties": "1000.00",
        "amount": "1100.00",
        "currency": "CHF",
        "notified_on": (min(valid_until + timedelta(days=15), date.today())).isoformat(),
    }
    return {**data, **over}


def until(check: Callable[[], object], timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_pushed_claim_travels_the_chain_and_is_closed_by_proof(live: Live) -> None:
    receipt = notify_claim(live, claim())
    assert receipt.received is True and receipt.duplicate is False
    again = notify_claim(live, claim())
    assert again.duplicate is True  # customs pushing twice is one claim

    chain = live.runtime.chain.chain
    closed = until(lambda: (row := chain.claim("CH-2027-17")) is not None and row.state == "closed" and row)
    assert closed.claim["status"] == "proof_furnished"
    assert {e["transaction_id"] for e in closed.evidence} == {"tx-006"}  # the Swiss re-export (Art. 10.1)
    until(lambda: not live.runtime.chain.pending())

    # the issuing association sees the claim on its carnet
    with httpx.Client(base_url=live.url, headers={"X-API-Key": live.issuer_key}) as issuer:
        # the closing is recorded just after the proof is handled: wait for it, then read them all
        until(lambda: any(e["kind"] == "claim_closed" for e in issuer.get("/v1/events").json()))
        events = issuer.get("/v1/events").json()
    notified = [e for e in events if e["kind"] == "claim_notified"]
    assert len(notified) == 1 and notified[0]["detail"]["relayed"] is True
    assert notified[0]["territory"] == "CH"
    closed_events = [e for e in events if e["kind"] == "claim_closed"]
    assert len(closed_events) == 1 and closed_events[0]["detail"]["claim_id"] == "CH-2027-17"


def test_a_barred_claim_is_refused_back_to_customs(live: Live) -> None:
    late = (DOC.carnet.valid_until + timedelta(days=400)).isoformat()  # > 1 year after expiry
    with pytest.raises(zeep.exceptions.Fault) as fault:
        notify_claim(live, claim(claim_id="CH-LATE", notified_on=late))
    detail = fault.value.detail
    assert detail is not None and "320" in "".join(detail.itertext())
    assert "Art. 8.4" in fault.value.message or "barred" in fault.value.message.lower()
    assert live.runtime.chain.chain.claim("CH-LATE") is None  # nothing relayed
    assert live.runtime.chain.chain.sent_rows() == []


def test_a_claim_signed_outside_the_territory_or_for_another_is_refused(live: Live) -> None:
    with pytest.raises(zeep.exceptions.Fault) as wrong_sender:
        notify_claim(live, claim(claim_id="CH-X1"), sender="customs-DE")
    assert "/ChainMessage/From" in "".join(wrong_sender.value.detail.itertext())
    with pytest.raises(zeep.exceptions.Fault) as wrong_territory:
        notify_claim(live, claim(claim_id="CH-X2", territory="DE"))
    assert "territory" in "".join(wrong_territory.value.detail.itertext())
    assert live.runtime.chain.chain.sent_rows() == []
