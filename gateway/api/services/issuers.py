"""Issuing associations: create, issue, amend, return, close and replace carnets."""

from __future__ import annotations

from gateway.api.services.repository import ISSUER, Carnets, denied
from gateway.errors import Code, Refusal, refuse
from gateway.model import Amendment, Carnet, CarnetDocument, CarnetStatus, TransactionState
from gateway.rules import carnet_problems, judge
from gateway.store import Conflict
from gateway.store.db import Party


class Issuers:
    def __init__(self, carnets: Carnets) -> None:
        self.carnets = carnets
        self.db = carnets.db

    def create(self, party: Party, carnet: Carnet, pin: str) -> CarnetDocument:
        if party.role != ISSUER:
            raise denied("issue carnets")
        if carnet.status != CarnetStatus.DRAFT:
            raise refuse(Code.BAD_VALUE, "/carnet/status", "a new carnet starts as a draft")
        doc = CarnetDocument(carnet=carnet)
        try:
            self.db.create_carnet(doc, party.id, pin)
        except Conflict as exc:
            raise refuse(Code.DUPLICATE, "/carnet/carnet_id", str(exc)) from None
        self.db.add_event(carnet.carnet_id, "created", {"by": party.name})
        return doc

    def issue(self, party: Party, carnet_id: str) -> CarnetDocument:
        row = self.carnets.owned(party, carnet_id, ISSUER)
        if row.doc.carnet.status != CarnetStatus.DRAFT:
            raise refuse(
                Code.ORDER,
                "/carnet/status",
                f"only a draft can be issued; this carnet is {row.doc.carnet.status.value}",
            )
        problems = carnet_problems(row.doc.carnet)
        if problems:
            raise Refusal(problems)
        return self.carnets.set_carnet(row, "issued", status=CarnetStatus.ISSUED)

    def amend(self, party: Party, carnet_id: str, amendment: Amendment) -> CarnetDocument:
        row = self.carnets.owned(party, carnet_id, ISSUER)
        c = row.doc.carnet
        if c.status != CarnetStatus.ISSUED or any(
            t.state == TransactionState.COMMITTED for t in row.doc.transactions
        ):
            raise refuse(
                Code.AMENDMENT_WINDOW,
                "/",
                "a carnet can be amended only after issue and before any customs transaction",
                "Annex A Art. 5.2",
            )
        amended = c.model_copy(update={"amendments": (*c.amendments, amendment), "signature": None})
        problems = carnet_problems(amended)
        if problems:
            raise Refusal(problems)
        # the amendment voids the holder's signature: they sign again (eATA practice)
        return self.carnets.write(
            row, row.doc.model_copy(update={"carnet": amended}), "amended", {"reason": amendment.reason}
        )

    def close(self, party: Party, carnet_id: str, *, returned: bool) -> CarnetDocument:
        row = self.carnets.owned(party, carnet_id, ISSUER)
        if judge(row.doc).open_positions():
            raise refuse(
                Code.ITEM_STATE,
                "/",
                "items are still under temporary admission abroad; the carnet cannot be closed",
            )
        return self.carnets.set_carnet(row, "returned" if returned else "closed", status=CarnetStatus.CLOSED)

    def replace_with(self, party: Party, carnet_id: str, successor: Carnet, pin: str) -> CarnetDocument:
        """Issue a replacement carnet (Annex A Art. 14): open items carry over, the old one is replaced."""
        row = self.carnets.owned(party, carnet_id, ISSUER)
        if successor.replaces != carnet_id:
            raise refuse(
                Code.BAD_VALUE,
                "/carnet/replaces",
                f"the replacement must say it replaces {carnet_id}",
                "Annex A Art. 14",
            )
        old = self.carnets.set_carnet(
            row, "replaced", status=CarnetStatus.REPLACED, replaced_by=successor.carnet_id
        )  # Annex A Art. 14.1: the old carnet is discharged to its successor for the goods carried over
        new = CarnetDocument(
            carnet=successor.model_copy(update={"status": CarnetStatus.ISSUED}), predecessor=old
        )
        judge(new)  # refuses if open items are missing from the new general list
        try:
            self.db.create_carnet(new, party.id, pin)
        except Conflict as exc:
            raise refuse(Code.DUPLICATE, "/carnet/carnet_id", str(exc)) from None
        if row.holder_id:
            self.db.bind_holder(successor.carnet_id, row.holder_id)
        self.db.add_event(successor.carnet_id, "issued", {"replaces": carnet_id})
        return new
