"""The guarantee chain in one call, for the demo: a carnet-issued notice acknowledged by the chain, and a
customs claim routed customs → guaranteeing association → issuing association and closed by the proof the
gateway assembles from its own endorsement log (Annex A Art. 8-10)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.chain.message import ChainKind
from gateway.chain.relay import ChainRelay, KeyRing
from gateway.model import CarnetDocument, Claim, load_document
from gateway.resources import data_dir

CHAIN_PARTY = "WCF"  # the international guarantee chain's own consumer (WCF/ICC ATA chain)


def make_chain_keys(directory: str | Path, parties: list[str]) -> Path:
    """A TEST PKI for the chain parties in its own directory (its own CA: other keys stay untouched)."""
    out = Path(directory)
    if all((out / f"{p.lower()}.key.pem").exists() for p in parties) and (out / "ca.cert.pem").exists():
        return out
    from conformance.testpki import make_test_pki

    make_test_pki(out, [p.lower() for p in parties])
    return out


def _wait(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def demo_flow(
    amqp_url: str,
    db_path: str | Path,
    keys_dir: str | Path,
    *,
    doc: CarnetDocument | None = None,
    claim: Claim | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Run both chain stories on a broker; returns what happened (message ids, ack status, claim state).

    ``keys_dir`` gets a chain PKI if it has none (``<party>.key.pem`` per party, ``ca.cert.pem``); give it a
    directory of its own. ``db_path`` is a SQLite file (created). Consumers run in threads for the call.
    """
    from gateway.claims.flow import ClaimFlow, route

    if doc is None:
        doc = load_document((data_dir("examples") / "journey-no-eu-ch.json").read_bytes())
    carnet = doc.carnet
    if claim is None:
        # Swiss customs claim the duties on items 1-2 shortly after the carnet expired (Art. 8.4: within a year)
        claim = Claim.model_validate(
            {
                "claim_id": "CH-DEMO-1",
                "territory": "CH",
                "carnet_id": carnet.carnet_id,
                "items": "1-2",
                "duties": Decimal("1000.00"),
                "amount": Decimal("1100.00"),
                "currency": "CHF",
                "notified_on": carnet.valid_until + timedelta(days=15),
            }
        )
    r = route(carnet, claim.territory)
    parties = sorted({r.customs, r.guaranteeing, r.issuing, CHAIN_PARTY})
    keys = KeyRing(make_chain_keys(keys_dir, parties))
    today = claim.notified_on + timedelta(days=16)
    with ChainRelay(amqp_url, f"sqlite:///{Path(db_path).resolve()}", keys) as relay:
        relay.declare(parties)
        flow = ClaimFlow(relay, {carnet.carnet_id: doc}, today=lambda: today)
        with ExitStack() as stack:
            for p in parties:
                stack.enter_context(relay.consumer(p, flow.handler).running())
            issued = relay.send(
                ChainKind.CARNET_ISSUED,
                carnet.carnet_id,
                r.issuing,
                CHAIN_PARTY,
                {"carnet": carnet.model_dump(mode="json", exclude_none=True)},
            )
            _wait(lambda: (relay.chain.sent_row(issued.message_id) or issued).acked_at is not None, timeout)
            flow.notify(claim)
            _wait(lambda: getattr(relay.chain.claim(claim.claim_id), "state", None) == "closed", timeout)
            _wait(lambda: not relay.pending(), timeout)
        issued_row = relay.chain.sent_row(issued.message_id)
        row = relay.chain.claim(claim.claim_id)
        return {
            "carnet_issued": {
                "message_id": issued.message_id,
                "from": r.issuing,
                "to": CHAIN_PARTY,
                "ack": issued_row.ack_status if issued_row else None,
            },
            "claim": {
                "claim_id": claim.claim_id,
                "route": [r.customs, r.guaranteeing, r.issuing],
                "state": row.state if row else None,
                "status": row.claim.get("status") if row else None,
                "proof": sorted({e["transaction_id"] for e in (row.evidence or [])}) if row else [],
                "articles": sorted({e["article"] for e in (row.evidence or [])}) if row else [],
                "regularisation_fee": row.regularisation_fee if row else None,
                "history": [h["event"] for h in row.history] if row else [],
            },
            "messages": [
                {"kind": s.kind, "from": s.sender, "to": s.recipient, "ack": s.ack_status}
                for s in relay.chain.sent_rows()
            ],
            "pending": len(relay.pending()),
            "as_of": date.isoformat(today),
        }
