"""Carnet life-cycle messages relayed over the chain exchange, signed, verified and acknowledged."""

from __future__ import annotations

import json
from contextlib import ExitStack

from chain_helpers import wait_for
from lxml import etree

from gateway.chain import ChainKind
from gateway.chain.relay import ChainRelay, chain_dead_queue, chain_queue
from gateway.errors import Code
from gateway.model import load_document
from tests.broker import depth
from tests.broker import drain_queue as get_all
from tests.conftest import EXAMPLES

CARNET = "NO/2026/000123"


def carnet_json() -> dict:  # type: ignore[type-arg]
    doc = load_document((EXAMPLES / "journey-no-eu-ch.json").read_bytes())
    return json.loads(doc.carnet.model_dump_json())


def test_life_cycle_relayed_and_acknowledged(relay: ChainRelay) -> None:
    issuer, chain = relay.consumer("NO-OCC"), relay.consumer("WCF")
    kinds = [
        ChainKind.CARNET_ISSUED,
        ChainKind.CARNET_AMENDED,
        ChainKind.CARNET_RETURNED,
        ChainKind.CARNET_REPLACED,
    ]
    with ExitStack() as stack:
        stack.enter_context(issuer.running())
        stack.enter_context(chain.running())
        sent = [
            relay.send(k, CARNET, "NO-OCC", "WCF", {"carnet": carnet_json(), "replacement": "NO/2026/000124"})
            for k in kinds
        ]
        wait_for(lambda: not relay.pending())
        assert relay.chain.carnet_status("WCF", CARNET) == "replaced"
        # the replacement is issued, then closed (Annex A Art. 13/14)
        relay.send(ChainKind.CARNET_ISSUED, "NO/2026/000124", "NO-OCC", "WCF", {})
        closed = relay.send(ChainKind.CARNET_CLOSED, "NO/2026/000124", "NO-OCC", "WCF", {})
        wait_for(lambda: not relay.pending())
    rows = {r.message_id: r for r in relay.chain.sent_rows()}
    for s in [*sent, closed]:
        assert rows[s.message_id].ack_status == "accepted" and rows[s.message_id].acked_at is not None
    assert relay.chain.carnet_status("WCF", "NO/2026/000124") == "closed"
    assert relay.chain.received_count("WCF") == 6


def test_unacknowledged_message_shows_as_pending_then_resend_is_acked(relay: ChainRelay) -> None:
    row = relay.send(ChainKind.CARNET_ISSUED, CARNET, "NO-OCC", "WCF", {"carnet": carnet_json()})
    assert [r.message_id for r in relay.pending()] == [row.message_id]
    assert relay.pending(older_than=3600) == []  # not yet older than an hour
    assert depth(relay.url, chain_queue("WCF")) == 1
    with relay.consumer("NO-OCC").running(), relay.consumer("WCF").running():
        wait_for(lambda: not relay.pending())
    assert relay.chain.sent_row(row.message_id).ack_status == "accepted"  # type: ignore[union-attr]


def test_change_after_close_is_refused_in_a_signed_ack(relay: ChainRelay) -> None:
    with relay.consumer("NO-OCC").running(), relay.consumer("WCF").running():
        relay.send(ChainKind.CARNET_ISSUED, CARNET, "NO-OCC", "WCF", {})
        relay.send(ChainKind.CARNET_CLOSED, CARNET, "NO-OCC", "WCF", {})
        late = relay.send(ChainKind.CARNET_AMENDED, CARNET, "NO-OCC", "WCF", {})
        wait_for(lambda: not relay.pending())
    row = relay.chain.sent_row(late.message_id)
    assert row is not None and (row.ack_status, row.ack_code) == ("refused", Code.CARNET_CLOSED)


def test_duplicate_delivery_has_one_effect_and_the_same_ack(relay: ChainRelay) -> None:
    effects: list[str] = []

    def counting(inc):  # type: ignore[no-untyped-def]
        effects.append(inc.message_id)
        return {"seen": len(effects)}

    wcf = relay.consumer("WCF", counting)
    row = relay.send(ChainKind.CARNET_ISSUED, CARNET, "NO-OCC", "WCF", {})
    relay.resend(row.message_id)  # the sender saw no ack and sends again: same MessageID
    relay.resend(row.message_id)
    with wcf.running():
        wait_for(lambda: wcf.stats.get("duplicate", 0) == 2)
    assert effects == [row.message_id]
    acks = get_all(relay.url, chain_queue("NO-OCC"))
    assert len(acks) == 3 and len({body for _, body in acks}) == 1  # byte-identical signed acks
    msg, _ = relay.open(acks[0][1])
    assert msg["Kind"] == "ack" and msg["InReplyTo"] == row.message_id and msg["Payload"]["seen"] == 1
    assert relay.chain.sent_row(row.message_id).attempts == 3  # type: ignore[union-attr]


def test_tampered_message_is_refused_with_its_code_and_dead_lettered(relay: ChainRelay) -> None:
    effects: list[str] = []
    wcf = relay.consumer("WCF", lambda inc: effects.append(inc.message_id) or None)
    _, body = relay.seal(ChainKind.CARNET_ISSUED, CARNET, "NO-OCC", "WCF", {"holder": "Nordlys Film AS"})
    tampered = body.replace(b"<CarnetID>NO/2026/000123<", b"<CarnetID>NO/2026/999999<")
    assert tampered != body
    _publish_raw(relay, "WCF", tampered)
    # unsigned: the signature stripped
    root = etree.fromstring(body)
    for sig in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        root.remove(sig)
    _publish_raw(relay, "WCF", etree.tostring(root))
    # hostile: an entity expansion
    _publish_raw(relay, "WCF", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    # signed by a trusted party, but not the one it claims to be
    _mid, forged = relay.seal(ChainKind.CARNET_ISSUED, CARNET, "mallory", "WCF", {})
    _publish_raw(relay, "WCF", forged.replace(b"<From>mallory</From>", b"<From>NO-OCC</From>"))
    with wcf.running():
        wait_for(lambda: wcf.stats.get("invalid", 0) == 4)
    assert effects == []
    codes = [r["code"] for r in relay.chain.refusals("WCF")]
    assert codes[0] == Code.SIGNATURE_INVALID and codes[1] == Code.SIGNATURE_MISSING
    assert codes[2] == Code.HOSTILE_XML
    assert codes[3] in (Code.SIGNATURE_INVALID, Code.NOT_AUTHORISED)  # the digest no longer matches
    dead = get_all(relay.url, chain_dead_queue("WCF"))
    assert [int(p.headers["x-eata-code"]) for p, _ in dead] == codes
    assert all(p.headers["x-eata-reason"] and p.headers["x-eata-pointer"] for p, _ in dead)
    assert depth(relay.url, chain_queue("NO-OCC")) == 0  # no ack to an unverified sender


def test_signed_by_another_party_is_not_authorised(relay: ChainRelay) -> None:
    # A well-formed message from "NO-OCC" but signed with mallory's (trusted) key.
    from gateway.chain.message import build
    from gateway.xmlsafe import serialize

    root = build(ChainKind.CARNET_ISSUED, CARNET, "NO-OCC", "WCF", {})
    body = serialize(relay.keys.signer("mallory").apply(root))
    result = relay.consumer("WCF").process(body)
    assert result.outcome == "invalid" and result.refusal is not None
    assert result.refusal.code == Code.NOT_AUTHORISED
    assert relay.chain.refusals("WCF")[0]["pointer"] == "/ChainMessage/From"


def _publish_raw(relay: ChainRelay, to: str, body: bytes) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(relay.url))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("eata.chain", f"{to}.carnet_issued", body, mandatory=True)
    finally:
        conn.close()


def test_a_handler_that_keeps_crashing_parks_the_message_in_the_dead_queue(relay: ChainRelay) -> None:
    calls: list[str] = []

    def broken(inc):  # type: ignore[no-untyped-def]
        calls.append(inc.message_id)
        raise RuntimeError("database is down")

    wcf = relay.consumer("WCF", broken, reconnect_delay=0.01, max_attempts=3)
    row = relay.send(ChainKind.CARNET_ISSUED, CARNET, "NO-OCC", "WCF", {})
    with wcf.running():
        wait_for(lambda: wcf.stats.get("dead", 0) == 1)
    assert calls == [row.message_id] * 3
    dead = get_all(relay.url, chain_dead_queue("WCF"))
    assert [int(p.headers["x-eata-code"]) for p, _ in dead] == [Code.INTERNAL]
    assert [r.message_id for r in relay.pending()] == [row.message_id]  # still owed an ack


def test_signed_message_with_an_unreadable_payload_is_refused(relay: ChainRelay) -> None:
    import base64

    from gateway.chain.message import build
    from gateway.xmlsafe import serialize

    root = build(ChainKind.CARNET_ISSUED, CARNET, "NO-OCC", "WCF", {})
    root.find("{urn:eata:chain:1}Payload").text = base64.b64encode(b"[1, 2").decode()  # type: ignore[union-attr]
    body = serialize(relay.keys.signer("NO-OCC").apply(root))
    result = relay.consumer("WCF").process(body)
    assert result.refusal is not None and result.refusal.code == Code.BAD_VALUE
    root.find("{urn:eata:chain:1}Payload").text = base64.b64encode(b"[1, 2]").decode()  # type: ignore[union-attr]
    result = relay.consumer("WCF").process(serialize(relay.keys.signer("NO-OCC").apply(root)))
    assert result.refusal is not None and result.refusal.problems[0].pointer == "/ChainMessage/Payload"
