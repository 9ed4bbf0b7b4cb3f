"""Customs officers: cancel with the holder's code, record paper endorsements, read what was declared to them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from gateway.api.services.repository import CUSTOMS, Carnets, denied, find_transaction
from gateway.errors import Code, refuse
from gateway.model import CarnetDocument, Endorsement, Transaction, TransactionState
from gateway.rules import Refused, check_answer, committed
from gateway.rules import cancel as cancel_rule
from gateway.store import NotFound
from gateway.store.db import Party

PAGE, MAX_PAGE = 50, 500  # vouchers per page of GET /v1/customs/transactions: default, most


def _mac(raw: str) -> str:
    return hashlib.sha256(f"eata/customs-cursor:{raw}".encode()).hexdigest()[:16]


def _cursor(territory: str, first_event: int) -> str:
    """Where the next page starts, opaque to the caller, bound to its territory."""
    raw = f"{territory}:{first_event}"
    return base64.urlsafe_b64encode(f"{raw}:{_mac(raw)}".encode()).decode().rstrip("=")


def _position(cursor: str, territory: str) -> int:
    bad = refuse(
        Code.BAD_VALUE,
        "/after",
        "this cursor was not given by this list for your territory; start again without 'after'",
    )
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        where, first, mac = text.split(":")
        position = int(first)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if where != territory or position < 0 or not hmac.compare_digest(mac, _mac(f"{where}:{first}")):
        raise bad
    return position


class Customs:
    def __init__(self, carnets: Carnets) -> None:
        self.carnets = carnets
        self.db = carnets.db

    def cancel(
        self, party: Party, carnet_id: str, transaction_id: str, code: str, reason: str
    ) -> Transaction:
        """Customs cancel a committed transaction by mutual consent: the holder's code, the officer's reason."""
        if party.role != CUSTOMS:
            raise denied("cancel transactions")
        row = self.carnets.row(carnet_id)
        _, tx = find_transaction(row.doc, transaction_id)
        if tx.territory != party.territory:
            raise refuse(Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id}")
        doc = cancel_rule(row.doc, transaction_id, code, reason)
        self.carnets.write(
            row, doc, "cancelled", {"reason": reason}, transaction_id=transaction_id, territory=tx.territory
        )
        return find_transaction(doc, transaction_id)[1]

    def reconcile(
        self, party: Party, carnet_id: str, transaction_id: str, endorsement: Endorsement
    ) -> Transaction:
        """Record the endorsement stamped on a paper voucher (paper fallback), so the ledger stays whole.

        It goes through the rules exactly as an electronic answer does (:func:`~gateway.rules.check_answer`,
        the same per-rule choice): a stamp breaking a rule customs alone can put right is refused back with
        code and article and nothing is stored; one the Convention settles (a re-export date past the
        carnet's validity or below the annex minimum) is recorded corrected, with the notice in the event
        for holder and customs; Art. 10.2 and late-transit stamps are recorded with their flags."""
        if party.role != CUSTOMS:  # only customs of the voucher's territory stamp it
            raise denied("record paper endorsements")
        row = self.carnets.row(carnet_id)
        i, tx = find_transaction(row.doc, transaction_id)
        if tx.territory != party.territory:
            raise refuse(Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id}")
        if tx.state == TransactionState.COMMITTED:
            raise refuse(Code.DUPLICATE, "/state", "this transaction is already committed")
        if endorsement.office != tx.office:
            raise refuse(
                Code.WRONG_OFFICE,
                "/office",
                f"the voucher was stamped at {endorsement.office}, not {tx.office}",
            )
        verdict = check_answer(row.doc, i, endorsement)
        if isinstance(verdict, Refused):
            raise verdict.refusal()
        doc = committed(row.doc, i, verdict.endorsement)  # the rejection history stays on the voucher
        detail = verdict.endorsement.model_dump(mode="json")
        if verdict.notices:
            detail["notices"] = [n.as_dict() for n in verdict.notices]
        self.carnets.write(
            row, doc, "paper_reconciled", detail, transaction_id=transaction_id, territory=tx.territory
        )
        return doc.transactions[i]

    def customs_transactions(self, party: Party, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        if party.role != CUSTOMS:
            raise denied("list customs transactions")
        return self.db.events(territory=party.territory, after=after, limit=limit)

    def customs_page(
        self, party: Party, carnet_id: str | None = None, after: str = "", limit: int = PAGE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of :meth:`customs_history`, in the stable order vouchers first reached customs, and
        the opaque cursor of the next page (None at the end). A cursor is bound to the caller's territory
        and checked: a changed or foreign one is refused (103, ``/after``). It grants nothing: every page
        is read under the caller's own territory."""
        if party.role != CUSTOMS or not party.territory:
            raise denied("read customs transactions")
        if not 1 <= limit <= MAX_PAGE:
            raise refuse(Code.BAD_VALUE, "/limit", f"ask for 1 to {MAX_PAGE} vouchers at a time")
        start = _position(after, party.territory or "") if after else 0
        rows = self.customs_history(party, carnet_id=carnet_id, since=start, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = _cursor(party.territory or "", rows[-1]["_first"]) if more and rows else None
        return [{k: v for k, v in r.items() if k != "_first"} for r in rows], nxt

    def customs_history(
        self,
        party: Party,
        carnet_id: str | None = None,
        transaction_id: str | None = None,
        *,
        since: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The vouchers declared to customs of ``party``'s territory, each with its rejection history.

        A rejection does not use up the voucher, and its reason is visible to customs of the territory that
        rejected (eATA practice): it stays in the transaction's ``rejections`` through later submissions and
        the commit, so the next officer sees why the last one refused. Customs see only what was declared to
        them (a transaction of their territory that reached them: submitted, answered or fallen back to
        paper), only their own territory's rejections, and only the voucher's metadata — never the rest of
        the carnet, other territories' vouchers, or the holder's cancellation code."""
        if party.role != CUSTOMS or not party.territory:
            raise denied("read customs transactions")
        seen: dict[tuple[str, str], int] = {}  # each voucher at the first event that reached customs
        after = 0
        while True:
            page = (
                self.db.events(
                    transaction_id=transaction_id, territory=party.territory, after=after, limit=500
                )
                if transaction_id
                else self.db.events(territory=party.territory, after=after, limit=500)
            )
            for e in page:
                if e["transaction_id"] and e["kind"] != "prepared" and carnet_id in (None, e["carnet_id"]):
                    seen.setdefault((e["carnet_id"], e["transaction_id"]), e["id"])
            if len(page) < 500:
                break
            after = page[-1]["id"]
        docs: dict[str, CarnetDocument | None] = {}
        out: list[dict[str, Any]] = []
        for (cid, tid), first in seen.items():
            if first <= since:
                continue
            if limit is not None and len(out) >= limit:
                break
            if cid not in docs:
                try:
                    docs[cid] = self.db.carnet(cid).doc
                except NotFound:
                    docs[cid] = None
            doc = docs[cid]
            tx = next((t for t in doc.transactions if t.transaction_id == tid), None) if doc else None
            if tx is None or tx.territory != party.territory:
                continue
            out.append(
                {
                    "carnet_id": cid,
                    **tx.model_dump(
                        mode="json",
                        include={"transaction_id", "kind", "territory", "office", "date", "items"},
                    ),
                    "state": tx.state.value,
                    "rejections": [
                        r.model_dump(mode="json") for r in tx.rejections if r.office[:2] == party.territory
                    ],
                }
            )
            if limit is not None:
                out[-1]["_first"] = first
        if transaction_id and not out:
            raise refuse(Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id}")
        return out
