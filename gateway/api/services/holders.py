"""Holders: download with the PIN, sign, plan travels, prepare and submit transactions, share vouchers."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.api.services.repository import HOLDER, Carnets, denied, find_transaction
from gateway.api.services.representatives import link_mac
from gateway.api.services.submissions import Submissions
from gateway.api.services.views import event_view
from gateway.errors import Code, Refusal, refuse
from gateway.items import parse_items
from gateway.model import CarnetDocument, CarnetStatus, Signature, Transaction, Travel
from gateway.rules import closed_problem, judge
from gateway.store import NotFound
from gateway.store.db import CarnetRow, Party
from gateway.store.secrets import check_pin, dummy_pin_hash, key_hash

# PIN checks (scrypt, ~30 ms of CPU each) run here, never on the event loop or the request threads
_PIN_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="eata-pin")


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


class PreconditionRequired(Exception):
    pass


class PreconditionFailed(Exception):
    def __init__(self, current: int):
        self.current = current


@dataclass(frozen=True, slots=True)
class _PinGate:
    attempt_id: int
    pin_hash: str


def _code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the border
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Holders:
    def __init__(
        self,
        carnets: Carnets,
        submissions: Submissions,
        *,
        share_secret: bytes,
        pin_window_s: float = 900,
        pin_max_wrong: int = 5,
        pin_max_per_carnet: int = 20,
    ) -> None:
        self.carnets = carnets
        self.db = carnets.db
        self.submissions = submissions
        self.share_secret = share_secret
        self.pin_window_s = pin_window_s
        self.pin_max_wrong = pin_max_wrong  # per caller
        self.pin_max_per_carnet = pin_max_per_carnet
        dummy_pin_hash()  # made now, so the first unknown carnet costs what every other one does

    # -- the carnet -----------------------------------------------------------------------------
    def download(self, party: Party, carnet_id: str, pin: str) -> CarnetDocument:
        """The carnet, for a holder who knows its PIN; binds it to that holder. Guesses are limited
        (:meth:`_pin_gate`). The API calls :meth:`download_async` instead."""
        gate = self._pin_gate(party, carnet_id)
        return self._pin_settle(party, carnet_id, gate, check_pin(pin, gate.pin_hash))

    async def download_async(self, party: Party, carnet_id: str, pin: str) -> CarnetDocument:
        """:meth:`download` with the scrypt check on a small pool of its own: a burst of guesses queues
        there and takes neither the event loop nor the threads other requests are served on."""
        gate = await asyncio.to_thread(self._pin_gate, party, carnet_id)
        ok = await asyncio.get_running_loop().run_in_executor(_PIN_POOL, check_pin, pin, gate.pin_hash)
        return await asyncio.to_thread(self._pin_settle, party, carnet_id, gate, ok)

    def _pin_gate(self, party: Party, carnet_id: str) -> _PinGate:
        """Count this attempt *before* its PIN is checked; :class:`TooManyAttempts` (429) past a limit.

        Within ``pin_window_s`` (15 minutes): at most ``pin_max_wrong`` (5) attempts per caller, over all
        carnets, and ``pin_max_per_carnet`` (20) per carnet, over all callers. So one stranger cannot lock
        a carnet at all; several accounts can, for a carnet nobody has downloaded yet, and only until
        their attempts leave the window. The holder a carnet is bound to (who downloaded it already) is
        never held by the per-carnet limit — nobody else's guesses lock them out — only by its own five.
        Attempts refused by a limit checked nothing and are not counted, nor is the right PIN. Unknown
        carnet numbers are counted, limited and checked (against a dummy hash of the same cost) exactly
        like known ones: neither the answer nor its time tells which numbers exist.
        """
        if party.role != HOLDER:
            raise denied("download carnets")
        try:
            row: CarnetRow | None = self.db.carnet(carnet_id)
        except NotFound:
            row = None
        now = time.time()
        tally = self.db.pin_attempt(carnet_id, party.id, now - self.pin_window_s)
        limits = [(tally.by_caller, self.pin_max_wrong)]
        if row is None or row.holder_id != party.id:
            limits.append((tally.by_carnet, self.pin_max_per_carnet))
        waits = [
            times[len(times) - 1 - limit] + self.pin_window_s - now
            for times, limit in limits
            if len(times) > limit
        ]
        if waits:
            self.db.forget_pin_attempt(tally.attempt_id)
            raise TooManyAttempts(max(1, int(max(waits)) + 1))
        return _PinGate(tally.attempt_id, row.pin_hash if row is not None else dummy_pin_hash())

    def _pin_settle(self, party: Party, carnet_id: str, gate: _PinGate, right: bool) -> CarnetDocument:
        if not right:  # the attempt stays counted; unknown numbers answer exactly the same
            raise refuse(Code.CARNET_NOT_FOUND, "/pin", "the carnet number or PIN is wrong")
        self.db.forget_pin_attempt(gate.attempt_id)
        row = self.db.carnet(carnet_id)
        if row.doc.carnet.status == CarnetStatus.DRAFT:
            raise refuse(Code.NOT_ACTIVATED, "/carnet_id", "the carnet is not issued yet")
        if not self.db.claim_holder(carnet_id, party.id):
            raise refuse(Code.NOT_AUTHORISED, "/carnet_id", "this carnet is already held by another account")
        return row.doc

    def sign(self, party: Party, carnet_id: str, signer: str) -> CarnetDocument:
        row = self.carnets.owned(party, carnet_id, HOLDER)
        signature = Signature(signer=signer, signed_at=datetime.now(UTC).replace(microsecond=0))
        return self.carnets.set_carnet(row, "signed", signature=signature)

    # -- travels (optimistic concurrency per travel) --------------------------------------------
    def travel(self, party: Party, carnet_id: str, travel_id: str) -> Travel:
        doc, _ = self.carnets.carnet(party, carnet_id)
        found = next((t for t in doc.travels if t.travel_id == travel_id), None)
        if found is None:
            raise refuse(Code.CARNET_NOT_FOUND, "/travel_id", f"no travel {travel_id}")
        return found

    def put_travel(
        self, party: Party, carnet_id: str, travel: Travel, if_match: int | None, *, create: bool
    ) -> Travel:
        row = self.carnets.owned(party, carnet_id, HOLDER)
        travels = list(row.doc.travels)
        idx = next((i for i, t in enumerate(travels) if t.travel_id == travel.travel_id), None)
        if create:
            if idx is not None:
                raise refuse(Code.DUPLICATE, "/travel_id", f"travel {travel.travel_id} exists")
            saved = travel.model_copy(update={"version": 1})
            travels.append(saved)
        else:
            if idx is None:
                raise refuse(Code.CARNET_NOT_FOUND, "/travel_id", f"no travel {travel.travel_id}")
            current = travels[idx]
            if if_match is None:
                raise PreconditionRequired()
            if if_match != current.version:
                raise PreconditionFailed(current.version)
            saved = travel.model_copy(update={"version": current.version + 1})
            travels[idx] = saved
        parse_items(saved.declared_items, row.doc.carnet.items_by_number.keys(), at="/declared_items")
        self.carnets.write(
            row,
            row.doc.model_copy(update={"travels": tuple(travels)}),
            "travel",
            {"travel_id": saved.travel_id, "version": saved.version},
        )
        return saved

    def delete_travel(self, party: Party, carnet_id: str, travel_id: str, if_match: int | None) -> None:
        row = self.carnets.owned(party, carnet_id, HOLDER)
        current = next((t for t in row.doc.travels if t.travel_id == travel_id), None)
        if current is None:
            raise refuse(Code.CARNET_NOT_FOUND, "/travel_id", f"no travel {travel_id}")
        if if_match is None:
            raise PreconditionRequired()
        if if_match != current.version:
            raise PreconditionFailed(current.version)
        travels = tuple(t for t in row.doc.travels if t.travel_id != travel_id)
        self.carnets.write(
            row, row.doc.model_copy(update={"travels": travels}), "travel_deleted", {"travel_id": travel_id}
        )

    # -- transactions ---------------------------------------------------------------------------
    def prepare(self, party: Party, carnet_id: str, fields: dict[str, Any]) -> Transaction:
        row = self.carnets.owned(party, carnet_id, HOLDER)
        tx = Transaction.model_validate_json(
            json.dumps(
                {
                    **fields,
                    "transaction_id": uuid.uuid4().hex[:16],
                    "transaction_code": _code(),
                    "cancellation_code": _code(),
                    "state": "prepared",
                },
                default=str,
            )
        )
        doc = row.doc.model_copy(update={"transactions": (*row.doc.transactions, tx)})
        judge(doc)  # refuses now, before the holder reaches the border
        self.carnets.write(
            row,
            doc,
            "prepared",
            {"kind": tx.kind.value},
            transaction_id=tx.transaction_id,
            territory=tx.territory,
        )
        return tx

    def transaction(
        self, party: Party, carnet_id: str, transaction_id: str
    ) -> tuple[CarnetDocument, Transaction]:
        """The carnet and one of its transactions, for whoever may read the carnet."""
        doc, _ = self.carnets.carnet(party, carnet_id)
        return doc, find_transaction(doc, transaction_id)[1]

    def submit(self, party: Party, carnet_id: str, transaction_id: str) -> str:
        """Hand a prepared transaction to customs through the relay; answers with a tracking ID."""
        row = self.carnets.owned(party, carnet_id, HOLDER)
        closed = closed_problem(row.doc.carnet)
        if closed is not None:
            raise Refusal(closed)
        return self.submissions.enqueue(row, carnet_id, transaction_id)

    def timeline(
        self, party: Party, carnet_id: str, transaction_id: str, after: int = 0, limit: int = 500
    ) -> list[dict[str, Any]]:
        self.transaction(party, carnet_id, transaction_id)
        events = self.db.events(transaction_id=transaction_id, after=after, limit=limit)
        return [event_view(e, party) for e in events]

    # -- sharing with representatives -------------------------------------------------------------
    def share(
        self, party: Party, carnet_id: str, travel_id: str, transactions: list[str], ttl_s: int
    ) -> tuple[str, float]:
        row = self.carnets.owned(party, carnet_id, HOLDER)
        if row.doc.carnet.signature is None:
            raise refuse(
                Code.NOT_SIGNED, "/carnet/signature", "only a signed carnet's vouchers can be shared"
            )
        self.travel(party, carnet_id, travel_id)
        for tid in transactions:
            _, tx = find_transaction(row.doc, tid)
            if tx.travel_id != travel_id:
                raise refuse(
                    Code.BAD_VALUE, "/transactions", f"transaction {tid} is not part of travel {travel_id}"
                )
        token = secrets.token_urlsafe(24)
        signed = f"{token}.{link_mac(self.share_secret, token)}"
        expires = time.time() + ttl_s
        self.db.add_share(key_hash(signed), carnet_id, travel_id, transactions, expires)
        return signed, expires
