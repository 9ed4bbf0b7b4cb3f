"""Claims through the guarantee chain: customs → guaranteeing association → issuing association, and proof
back the same way (Convention Annex A Art. 8-11; docs/domain.md "Claims travel customs → guaranteeing
association → guarantee chain → issuing association → holder").

1. Customs of territory X notifies a claim (:meth:`ClaimFlow.notify`). The deadlines are checked first with
   :func:`check_claim`: a claim notified more than one year after the carnet's expiry is barred (Art. 8.4)
   and refused, nothing published; one above 110 % of the duties is accepted with the liability capped and
   the cap recorded on the claim (``capped_at``, Art. 8.2).
2. X's guaranteeing association (named on the carnet, Art. 6) applies the same checks and forwards the
   claim to the issuing association.
3. The issuing association's side assembles the proof from the gateway's endorsement log
   (:func:`assemble_proof`: the re-export endorsement, Art. 10.1, or a later import or re-import in another
   territory, Art. 10.2) and sends ``claim_proof`` back to the guaranteeing association, which forwards it to
   customs. Without proof, the 6-month window of Art. 9.1a runs and is reported in the ack.
4. Customs checks the proof against the same log; valid proof closes the claim (status proof_furnished,
   Art. 10) and, where the proof is by Art. 10.2, the regularisation fee is recorded (Art. 11).

Every step is a signed chain message answered by a signed ack; follow-ups carry ids derived from the
message that caused them, so a redelivery repeats nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from gateway.chain.message import ChainKind
from gateway.chain.relay import ChainRelay, Handler, Incoming, derive_id, dispatch
from gateway.chain.store import ClaimRow, SentRow
from gateway.claims.deadlines import assess, cap_claim, check_claim
from gateway.claims.proof import Proof, assemble_proof
from gateway.errors import Code, Refusal, refuse
from gateway.model import Association, Carnet, CarnetDocument, Claim, ClaimStatus, problems_from_validation
from gateway.territories import EU_MEMBERS, customs_territory

# The gateway's endorsement log, by carnet id (in the service: ``Database.carnet(id).doc``).
Documents = Callable[[str], CarnetDocument | None]  # None: not in the log (refused, 404)


def customs_party(territory: str) -> str:
    """The chain party id of a territory's customs (claims come from customs, Art. 8.1)."""
    return f"customs-{territory}"


def association_party(assoc: Association) -> str:
    return assoc.code or f"{assoc.country}-ASSOC"


@dataclass(frozen=True, slots=True)
class Route:
    customs: str
    guaranteeing: str
    issuing: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def route(carnet: Carnet, territory: str) -> Route:
    """Who a claim from ``territory`` goes to: that territory's guaranteeing association (Art. 6, box P),
    then the issuing association."""
    assoc = next((a for a in carnet.guaranteeing_associations if a.country == territory), None)
    if assoc is None and territory in EU_MEMBERS:
        # the EU is one customs territory: its guaranteeing association answers for every member state
        assoc = next(
            (a for a in carnet.guaranteeing_associations if customs_territory(a.country) == "EU"), None
        )
    if assoc is None:
        raise refuse(
            Code.TERRITORY_NOT_COVERED,
            "/territory",
            f"the carnet names no guaranteeing association for {territory}, so no claim can be routed there",
            "Annex A Art. 6",
        )
    return Route(
        customs_party(territory), association_party(assoc), association_party(carnet.issuing_association)
    )


def _claim_json(claim: Claim) -> dict[str, Any]:
    return json.loads(claim.model_dump_json(exclude_none=True))


def _evidence(proof: Proof) -> list[dict[str, Any]]:
    return [
        {
            "item": e.item,
            "transaction_id": e.transaction_id,
            "kind": str(e.kind),
            "office": e.office,
            "reference": e.reference,
            "article": e.article,
        }
        for e in proof.evidence
    ]


class ClaimFlow:
    """The claim handlers every party runs (customs, guaranteeing and issuing associations alike)."""

    def __init__(
        self,
        relay: ChainRelay,
        documents: Documents | Mapping[str, CarnetDocument],
        *,
        regularisation_fee: Decimal | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.relay = relay
        self._documents = documents
        self.regularisation_fee = (
            regularisation_fee  # the claiming customs' fee (Art. 11), when it charges one
        )
        self.today = today

    def document(self, carnet_id: str) -> CarnetDocument:
        docs = self._documents
        doc = docs.get(carnet_id) if isinstance(docs, Mapping) else docs(carnet_id)
        if doc is None:
            raise refuse(
                Code.CARNET_NOT_FOUND, "/carnet_id", f"carnet {carnet_id} is not in the gateway's log"
            )
        return doc

    @property
    def handler(self) -> Handler:
        """Claims plus the carnet life-cycle defaults; give it to ``relay.consumer(party, ...)``."""
        return dispatch({ChainKind.CLAIM_NOTIFIED: self._on_notified, ChainKind.CLAIM_PROOF: self._on_proof})

    # -- customs: notify ------------------------------------------------------------------------
    def notify(self, claim: Claim) -> SentRow:
        """Customs notifies the claim to its guaranteeing association; refused (nothing sent) if barred or
        not about this carnet's goods (Art. 8.4); above 110 % of the duties it goes capped (Art. 8.2)."""
        doc = self.document(claim.carnet_id)
        check_claim(claim, doc.carnet)
        claim, capped = cap_claim(claim)
        r = route(doc.carnet, claim.territory)
        data = _claim_json(claim)
        self.relay.chain.upsert_claim(
            claim.claim_id,
            state="notified",
            event=f"{r.customs} notified the claim to {r.guaranteeing}"
            + (f"; {capped.message} ({capped.article})" if capped else ""),
            claim=data,
            route=r.as_dict(),
        )
        return self.relay.send(
            ChainKind.CLAIM_NOTIFIED,
            claim.carnet_id,
            r.customs,
            r.guaranteeing,
            {"claim": data, "route": r.as_dict()},
            message_id=derive_id(claim.claim_id, "notified"),  # notifying twice is one notification
        )

    # -- handlers -------------------------------------------------------------------------------
    def _read(self, inc: Incoming) -> tuple[Claim, Route, CarnetDocument]:
        payload = inc.payload
        try:
            claim = Claim.model_validate_json(json.dumps(payload["claim"]))
            r = Route(**payload["route"])
        except ValidationError as exc:
            raise Refusal(problems_from_validation(exc)) from None  # same codes as any claim document
        except (KeyError, TypeError, ValueError) as exc:
            raise refuse(
                Code.MISSING, "/ChainMessage/Payload", f"the claim message is incomplete: {exc}"
            ) from None
        if claim.carnet_id != inc.carnet_id:
            raise refuse(
                Code.BAD_VALUE,
                "/ChainMessage/CarnetID",
                f"the claim is about {claim.carnet_id}, not {inc.carnet_id}",
            )
        doc = self.document(claim.carnet_id)
        if route(doc.carnet, claim.territory) != r:
            raise refuse(
                Code.NOT_AUTHORISED,
                "/ChainMessage/Payload",
                "the claim's route does not match the carnet's guaranteeing and issuing associations",
                "Annex A Art. 6",
            )
        return claim, r, doc

    def _expect(self, inc: Incoming, sender: str, role: str) -> None:
        if inc.sender != sender:
            raise refuse(
                Code.NOT_AUTHORISED,
                "/ChainMessage/From",
                f"{inc.kind.value} for this claim must come from {role} {sender}, not {inc.sender}",
            )

    def _on_notified(self, inc: Incoming) -> Mapping[str, Any]:
        claim, r, doc = self._read(inc)
        if inc.party == r.guaranteeing:
            self._expect(inc, r.customs, "customs")
            check_claim(claim, doc.carnet)  # the receiving side applies the same checks, same codes
            if r.guaranteeing == r.issuing:
                return self._prove(inc, claim, r, doc)
            data = _claim_json(claim)
            self.relay.chain.upsert_claim(
                claim.claim_id,
                state="with_issuing",
                event=f"{r.guaranteeing} forwarded the claim to the issuing association {r.issuing}",
                claim=data,
                route=r.as_dict(),
            )
            self.relay.send(
                ChainKind.CLAIM_NOTIFIED,
                claim.carnet_id,
                r.guaranteeing,
                r.issuing,
                {"claim": data, "route": r.as_dict(), "via": r.guaranteeing},
                message_id=derive_id(inc.message_id, "forward"),
            )
            return {"claim_state": "with_issuing", "forwarded_to": r.issuing}
        if inc.party == r.issuing:
            self._expect(inc, r.guaranteeing, "guaranteeing association")
            return self._prove(inc, claim, r, doc)
        raise refuse(
            Code.NOT_AUTHORISED, "/ChainMessage/To", f"{inc.party} has no part in claim {claim.claim_id}"
        )

    def _prove(self, inc: Incoming, claim: Claim, r: Route, doc: CarnetDocument) -> Mapping[str, Any]:
        """The issuing association's side: proof from the endorsement log (Art. 10), sent back."""
        proof = assemble_proof(doc, claim)
        due = assess(claim, doc.carnet, self.today())
        if not proof.complete:
            # Art. 9.1a: the association has until proof_due; then a deposit is payable (Art. 9.1b)
            self.relay.chain.upsert_claim(
                claim.claim_id,
                state="proof_missing",
                event=f"no proof in the log for items {list(proof.missing)}; proof due by {due.proof_due}",
                claim=_claim_json(claim),
                route=r.as_dict(),
                evidence=_evidence(proof),
            )
            return {
                "proof": "missing",
                "missing": list(proof.missing),
                "proof_due": due.proof_due.isoformat(),
            }
        evidence = _evidence(proof)
        self.relay.chain.upsert_claim(
            claim.claim_id,
            state="proof_sent",
            event=f"{inc.party} assembled proof from the endorsement log and sent it to {r.guaranteeing}",
            claim=_claim_json(claim),
            route=r.as_dict(),
            evidence=evidence,
        )
        payload = {
            "claim": _claim_json(claim),
            "route": r.as_dict(),
            "proof": {"evidence": evidence, "regularisation_fee_applies": proof.regularisation_fee_applies},
        }
        # one association that both guarantees and issued sends the proof straight to customs
        to = r.customs if r.guaranteeing == r.issuing else r.guaranteeing
        self.relay.send(
            ChainKind.CLAIM_PROOF,
            claim.carnet_id,
            inc.party,
            to,
            payload,
            message_id=derive_id(inc.message_id, "proof"),
        )
        return {"proof": "sent", "evidence": sorted({e["transaction_id"] for e in evidence})}

    def _on_proof(self, inc: Incoming) -> Mapping[str, Any]:
        claim, r, doc = self._read(inc)
        if inc.party == r.guaranteeing and r.guaranteeing != r.issuing:
            self._expect(inc, r.issuing, "issuing association")
            self.relay.chain.upsert_claim(
                claim.claim_id,
                state="proof_forwarded",
                event=f"{r.guaranteeing} forwarded the proof to {r.customs}",
            )
            self.relay.send(
                ChainKind.CLAIM_PROOF,
                claim.carnet_id,
                r.guaranteeing,
                r.customs,
                inc.payload,
                message_id=derive_id(inc.message_id, "forward"),
            )
            return {"claim_state": "proof_forwarded", "forwarded_to": r.customs}
        if inc.party == r.customs:
            self._expect(inc, r.guaranteeing, "guaranteeing association")
            return self._close(inc, claim, r, doc)
        raise refuse(
            Code.NOT_AUTHORISED, "/ChainMessage/To", f"{inc.party} has no part in claim {claim.claim_id}"
        )

    def _close(self, inc: Incoming, claim: Claim, r: Route, doc: CarnetDocument) -> Mapping[str, Any]:
        """Customs: proof valid against the endorsement log closes the claim (Art. 10); fee per Art. 11."""
        sent = inc.payload.get("proof") or {}
        offered = {
            (e.get("item"), e.get("transaction_id"), e.get("reference")) for e in sent.get("evidence", [])
        }
        ours = assemble_proof(doc, claim)
        expected = {(e.item, e.transaction_id, e.reference) for e in ours.evidence}
        if not ours.complete or offered != expected:
            raise refuse(
                Code.ITEM_STATE,
                "/ChainMessage/Payload/proof",
                "the proof does not show that every claimed item left: the endorsements offered are not those "
                "in the log for these items",
                "Annex A Art. 10",
            )
        today = self.today()
        final_on = assess(claim, doc.carnet, today).deposit_final_on
        if final_on is not None and today > final_on:
            raise refuse(
                Code.DEADLINE_PASSED,
                "/ChainMessage/Payload/proof",
                f"the deposit became final on {final_on}; proof arriving now no longer recovers it",
                "Annex A Art. 9.1c",
            )
        fee: Decimal | None = None
        if ours.regularisation_fee_applies and self.regularisation_fee is not None:
            fee = self.regularisation_fee
        closed = claim.model_copy(
            update={
                "status": ClaimStatus.PROOF_FURNISHED,
                "proof_furnished_on": today,
                "regularisation_fee": fee,
            }
        )
        fee_note = None
        if ours.regularisation_fee_applies:
            fee_note = str(fee) if fee is not None else "applies"
        self.relay.chain.upsert_claim(
            claim.claim_id,
            state="closed",
            event=f"{r.customs} accepted the proof ({', '.join(sorted({e.article for e in ours.evidence}))}) "
            "and closed the claim",
            claim=_claim_json(closed),
            evidence=_evidence(ours),
            regularisation_fee=fee_note,
        )
        out: dict[str, Any] = {"claim_state": "closed", "proof_furnished_on": today.isoformat()}
        if fee_note is not None:
            out["regularisation_fee"] = fee_note  # Art. 11
        if claim.deposit_paid_on is not None:
            out["deposit"] = "to be refunded: proof arrived before it became final (Art. 9.1c)"
        return out


def claim_state(relay: ChainRelay, claim_id: str) -> ClaimRow | None:
    return relay.chain.claim(claim_id)


__all__ = ["ClaimFlow", "Documents", "Route", "association_party", "claim_state", "customs_party", "route"]
