"""What the REST API does, without HTTP: carnets, travels, transactions, sharing, customs answers.

Every operation checks the caller's role and ownership first (each party sees only its own carnets),
then the Convention's rules, and writes the carnet's document as one versioned row.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from gateway import correlation
from gateway.api.destinations import DestinationPolicy
from gateway.errors import Code, Refusal, refuse
from gateway.messages import Response, declaration_for
from gateway.model import (
    Amendment,
    Carnet,
    CarnetDocument,
    CarnetStatus,
    Claim,
    Endorsement,
    Signature,
    Transaction,
    TransactionState,
    Travel,
)
from gateway.relay.envelope import Envelope
from gateway.relay.store import Store as RelayStore
from gateway.relay.topology import OUTBOUND
from gateway.rules import Refused, carnet_problems, check_answer, closed_problem, committed, judge, rejected
from gateway.rules import cancel as cancel_rule
from gateway.store import Conflict, Database, NotFound
from gateway.store.db import CarnetRow, Party
from gateway.store.secrets import check_pin, dummy_pin_hash, key_hash

log = logging.getLogger("eata.service")
# PIN checks (scrypt, ~30 ms of CPU each) run here, never on the event loop or the request threads
_PIN_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="eata-pin")

ISSUER, HOLDER, REPRESENTATIVE, CUSTOMS, CHAIN, OPERATOR, AUDITOR = (
    "issuer",
    "holder",
    "representative",
    "customs",
    "chain",
    "operator",  # runs the gateway: health, metrics, message metadata; never carnet contents
    "auditor",  # reads every carnet document and event, changes nothing (granted separately)
)
# What an operator sees of an event: what happened to which message, never what it said
EVENT_METADATA = ("id", "carnet_id", "transaction_id", "territory", "kind", "at")


def _denied(what: str) -> Refusal:
    return refuse(Code.NOT_AUTHORISED, "", f"you are not allowed to {what}")


def _code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the border
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Service:
    def __init__(
        self,
        db: Database,
        *,
        outbox: RelayStore | None = None,
        wake: Callable[[], None] | None = None,
        share_secret: str = "",
        pin_window_s: float = 900,
        pin_max_wrong: int = 5,
        pin_max_per_carnet: int = 20,
        webhook_allow: str | None = None,
        webhook_cap: int = 20,
    ) -> None:
        self.db = db
        # Accepted submissions go to the relay's outbox in the same transaction as the carnet's new state,
        # so "accepted" can never be lost; a publisher drains the outbox to RabbitMQ (and on restart).
        self.outbox = outbox or RelayStore(engine=db.engine)
        self.wake = wake or (lambda: None)
        self.share_secret = share_secret.encode() or secrets.token_bytes(32)
        self.pin_window_s = pin_window_s
        self.pin_max_wrong = pin_max_wrong  # per caller
        self.pin_max_per_carnet = pin_max_per_carnet
        dummy_pin_hash()  # made now, so the first unknown carnet costs what every other one does
        # webhook destinations: public addresses, plus what the operator allows (EATA_WEBHOOK_ALLOW)
        self.destinations = DestinationPolicy(
            os.environ.get("EATA_WEBHOOK_ALLOW") if webhook_allow is None else webhook_allow
        )
        self.webhook_cap = webhook_cap  # subscriptions per party
        # told of every customs outcome: (territory, transaction kind, outcome, seconds since submission)
        self.observers: list[Callable[[str, str, str, float | None], None]] = []

    def observe(self, territory: str, kind: str, outcome: str, message_id: str | None = None) -> None:
        sub = self.db.submission(message_id=message_id) if message_id else None
        seconds = time.time() - sub["at"] if sub else None
        for fn in self.observers:
            try:
                fn(territory, kind, outcome, seconds)
            except Exception:  # an observer (metrics) must never lose an answer
                log.exception("outcome observer failed")

    # -- access ---------------------------------------------------------------------------------
    def _row(self, carnet_id: str):  # type: ignore[no-untyped-def]
        try:
            return self.db.carnet(carnet_id)
        except NotFound:
            raise refuse(Code.CARNET_NOT_FOUND, "/carnet_id", f"no carnet {carnet_id}") from None

    def _owned(self, party: Party, carnet_id: str, *roles: str):  # type: ignore[no-untyped-def]
        """The carnet row if ``party`` may act on it in one of ``roles``; otherwise 'not found'.

        Not-owned looks like not-found, so carnet numbers cannot be probed.
        """
        if party.role not in roles:
            raise _denied(f"do this as {party.role}")
        row = self._row(carnet_id)
        if party.role == ISSUER and row.issuer_id == party.id:
            return row
        if party.role == HOLDER and row.holder_id == party.id:
            return row
        if party.role == AUDITOR:
            return row
        raise refuse(Code.CARNET_NOT_FOUND, "/carnet_id", f"no carnet {carnet_id}")

    def carnet(self, party: Party, carnet_id: str) -> tuple[CarnetDocument, int]:
        row = self._owned(party, carnet_id, ISSUER, HOLDER, AUDITOR)
        return row.doc, row.version

    # -- issuing associations ------------------------------------------------------------------
    def create(self, party: Party, carnet: Carnet, pin: str) -> CarnetDocument:
        if party.role != ISSUER:
            raise _denied("issue carnets")
        if carnet.status != CarnetStatus.DRAFT:
            raise refuse(Code.BAD_VALUE, "/carnet/status", "a new carnet starts as a draft")
        doc = CarnetDocument(carnet=carnet)
        try:
            self.db.create_carnet(doc, party.id, pin)
        except Conflict as exc:
            raise refuse(Code.DUPLICATE, "/carnet/carnet_id", str(exc)) from None
        self.db.add_event(carnet.carnet_id, "created", {"by": party.name})
        return doc

    def _write(
        self, row, doc: CarnetDocument, event: str, detail: dict[str, Any], **kw: Any
    ) -> CarnetDocument:  # type: ignore[no-untyped-def]
        with self.db.begin() as c:
            try:
                self.db.save(doc, row.version, conn=c)
            except Conflict:
                raise refuse(
                    Code.DUPLICATE, "/", "the carnet changed meanwhile; reload and try again"
                ) from None
            self.db.add_event(doc.carnet.carnet_id, event, detail, conn=c, **kw)
        return doc

    def _set_carnet(self, row, event: str, **changes: Any) -> CarnetDocument:  # type: ignore[no-untyped-def]
        carnet = row.doc.carnet.model_copy(update=changes)
        return self._write(
            row, row.doc.model_copy(update={"carnet": carnet}), event, {k: str(v) for k, v in changes.items()}
        )

    def issue(self, party: Party, carnet_id: str) -> CarnetDocument:
        row = self._owned(party, carnet_id, ISSUER)
        if row.doc.carnet.status != CarnetStatus.DRAFT:
            raise refuse(
                Code.ORDER,
                "/carnet/status",
                f"only a draft can be issued; this carnet is {row.doc.carnet.status.value}",
            )
        problems = carnet_problems(row.doc.carnet)
        if problems:
            raise Refusal(problems)
        return self._set_carnet(row, "issued", status=CarnetStatus.ISSUED)

    def amend(self, party: Party, carnet_id: str, amendment: Amendment) -> CarnetDocument:
        row = self._owned(party, carnet_id, ISSUER)
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
        return self._write(
            row, row.doc.model_copy(update={"carnet": amended}), "amended", {"reason": amendment.reason}
        )

    def close(self, party: Party, carnet_id: str, *, returned: bool) -> CarnetDocument:
        row = self._owned(party, carnet_id, ISSUER)
        if judge(row.doc).open_positions():
            raise refuse(
                Code.ITEM_STATE,
                "/",
                "items are still under temporary admission abroad; the carnet cannot be closed",
            )
        return self._set_carnet(row, "returned" if returned else "closed", status=CarnetStatus.CLOSED)

    def replace_with(self, party: Party, carnet_id: str, successor: Carnet, pin: str) -> CarnetDocument:
        """Issue a replacement carnet (Annex A Art. 14): open items carry over, the old one is replaced."""
        row = self._owned(party, carnet_id, ISSUER)
        if successor.replaces != carnet_id:
            raise refuse(
                Code.BAD_VALUE,
                "/carnet/replaces",
                f"the replacement must say it replaces {carnet_id}",
                "Annex A Art. 14",
            )
        old = self._set_carnet(
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

    # -- holders ----------------------------------------------------------------------------------
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
            raise _denied("download carnets")
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
        row = self._owned(party, carnet_id, HOLDER)
        signature = Signature(signer=signer, signed_at=datetime.now(UTC).replace(microsecond=0))
        return self._set_carnet(row, "signed", signature=signature)

    # -- travels (optimistic concurrency per travel) --------------------------------------------
    def travel(self, party: Party, carnet_id: str, travel_id: str) -> Travel:
        doc, _ = self.carnet(party, carnet_id)
        found = next((t for t in doc.travels if t.travel_id == travel_id), None)
        if found is None:
            raise refuse(Code.CARNET_NOT_FOUND, "/travel_id", f"no travel {travel_id}")
        return found

    def put_travel(
        self, party: Party, carnet_id: str, travel: Travel, if_match: int | None, *, create: bool
    ) -> Travel:
        row = self._owned(party, carnet_id, HOLDER)
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
        from gateway.items import parse_items

        parse_items(saved.declared_items, row.doc.carnet.items_by_number.keys(), at="/declared_items")
        self._write(
            row,
            row.doc.model_copy(update={"travels": tuple(travels)}),
            "travel",
            {"travel_id": saved.travel_id, "version": saved.version},
        )
        return saved

    def delete_travel(self, party: Party, carnet_id: str, travel_id: str, if_match: int | None) -> None:
        row = self._owned(party, carnet_id, HOLDER)
        current = next((t for t in row.doc.travels if t.travel_id == travel_id), None)
        if current is None:
            raise refuse(Code.CARNET_NOT_FOUND, "/travel_id", f"no travel {travel_id}")
        if if_match is None:
            raise PreconditionRequired()
        if if_match != current.version:
            raise PreconditionFailed(current.version)
        travels = tuple(t for t in row.doc.travels if t.travel_id != travel_id)
        self._write(
            row, row.doc.model_copy(update={"travels": travels}), "travel_deleted", {"travel_id": travel_id}
        )

    # -- transactions ---------------------------------------------------------------------------
    def prepare(self, party: Party, carnet_id: str, fields: dict[str, Any]) -> Transaction:
        row = self._owned(party, carnet_id, HOLDER)
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
        self._write(
            row,
            doc,
            "prepared",
            {"kind": tx.kind.value},
            transaction_id=tx.transaction_id,
            territory=tx.territory,
        )
        return tx

    def _tx(self, doc: CarnetDocument, transaction_id: str) -> tuple[int, Transaction]:
        for i, t in enumerate(doc.transactions):
            if t.transaction_id == transaction_id:
                return i, t
        raise refuse(Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id}")

    def submit(self, party: Party, carnet_id: str, transaction_id: str) -> str:
        """Hand a prepared transaction to customs through the relay; answers with a tracking ID."""
        row = self._owned(party, carnet_id, HOLDER)
        closed = closed_problem(row.doc.carnet)
        if closed is not None:
            raise Refusal(closed)
        return self._enqueue(row, carnet_id, transaction_id)

    def unavailable(self, carnet_id: str, transaction_id: str, *, resubmit: bool) -> None:
        """Customs could not be reached: back to prepared (paper fallback), or queued again (hold)."""
        row = self._row(carnet_id)
        i, tx = self._tx(row.doc, transaction_id)
        if tx.state != TransactionState.SUBMITTED:
            return
        if resubmit:
            self._enqueue(row, carnet_id, transaction_id, again=True)
            return
        back = tx.model_copy(update={"state": TransactionState.PREPARED})
        doc = row.doc.model_copy(
            update={"transactions": (*row.doc.transactions[:i], back, *row.doc.transactions[i + 1 :])}
        )
        self._write(
            row,
            doc,
            "prepared",
            {"why": "customs unavailable"},
            transaction_id=transaction_id,
            territory=tx.territory,
        )

    def _enqueue(self, row, carnet_id: str, transaction_id: str, *, again: bool = False) -> str:  # type: ignore[no-untyped-def]
        i, tx = self._tx(row.doc, transaction_id)
        allowed = (
            (TransactionState.SUBMITTED,) if again else (TransactionState.PREPARED, TransactionState.REJECTED)
        )
        if tx.state not in allowed:
            raise refuse(Code.DUPLICATE, "/state", f"this transaction is already {tx.state.value}")
        attempt = sum(1 for e in self.db.events(transaction_id=transaction_id) if e["kind"] == "submitted")
        message_id = f"EATA{hashlib.sha256(f'{carnet_id}|{transaction_id}|{attempt}'.encode()).hexdigest()[:18].upper()}"
        tracking = uuid.uuid4().hex
        submitted = tx.model_copy(update={"state": TransactionState.SUBMITTED, "rejection": None})
        doc = row.doc.model_copy(
            update={"transactions": (*row.doc.transactions[:i], submitted, *row.doc.transactions[i + 1 :])}
        )
        declaration = declaration_for(doc, i, message_id)  # refuse now what cannot be translated
        envelope = Envelope(
            kind=tx.kind.value,
            territory=tx.territory,
            carnet_id=carnet_id,
            body=declaration.model_dump_json().encode(),
            message_id=message_id,
            correlation_id=tracking,
            content_type="application/json",
        )
        with self.db.begin() as c:
            try:
                self.db.save(doc, row.version, conn=c)
            except Conflict:
                raise refuse(Code.DUPLICATE, "/", "the carnet changed meanwhile; try again") from None
            self.db.add_submission(tracking, message_id, carnet_id, transaction_id, tx.territory, c)
            self._sent_references(declaration, tx.territory, c)
            self.db.add_event(
                carnet_id,
                "submitted",
                {"tracking_id": tracking, "message_id": message_id},
                transaction_id=transaction_id,
                territory=tx.territory,
                conn=c,
            )
            self.outbox.outbox_put(c, envelope, OUTBOUND, envelope.routing_key)
        self.wake()
        return tracking

    def timeline(
        self, party: Party, carnet_id: str, transaction_id: str, after: int = 0, limit: int = 500
    ) -> list[dict[str, Any]]:
        doc, _ = self.carnet(party, carnet_id)
        self._tx(doc, transaction_id)
        return self.db.events(transaction_id=transaction_id, after=after, limit=limit)

    def apply_response(self, response: Response, territory: str) -> str:
        """Record customs' answer (endorsement or rejection) on the carnet; returns the event kind.

        The answer is matched to the transaction through the submission it quotes (``in_reply_to``, the
        message ID the gateway sent), never through IDs it merely names. It is applied once: the record of
        it is written in the same database transaction as its effect, so an answer whose application failed
        is applied when customs send it again, and one applied already is answered ``duplicate``.
        """
        for _ in range(3):  # another answer for the same carnet may win the row version; read again
            try:
                return self._apply(response, territory)
            except Conflict:
                continue
        raise refuse(
            Code.DUPLICATE, "/", "the carnet kept changing while this answer was applied; send it again"
        )

    def _sent_references(self, declaration: Any, territory: str, conn: Any) -> None:
        """The national references a submission carries: its LRN (our message ID) and, for an arrival
        (IE007), the movement's MRN — what customs' answers will name."""
        sub = {
            "message_id": declaration.message_id,
            "carnet_id": declaration.carnet_id,
            "transaction_id": declaration.transaction_id,
            "territory": territory,
        }
        self.db.add_reference(declaration.message_id, correlation.LRN, correlation.SENT, sub, conn)
        if declaration.movement_reference:
            self.db.add_reference(
                declaration.movement_reference, correlation.MRN, correlation.SENT, sub, conn
            )

    def answered(self, partial: dict[str, Any]) -> dict[str, Any] | None:
        """The declaration a customs answer replies to, found by the national references it names (the
        LRN answered; else the movement's MRN, for the transaction of the answer's kind), as decoding's
        context: carnet, transaction, kind, office and the message ID answered. None when nothing sent or
        received carries them: the answer's mapping then refuses it (314), attached to no transaction."""
        lrn, mrn = correlation.named(partial)
        if lrn is not None:
            sub = self.db.submission(message_id=lrn)
            if sub is None:
                known = self.db.references(lrn, correlation.LRN)
                sub = self.db.submission(message_id=known[-1]["message_id"]) if known else None
            found = self._answer_context(sub, partial)
            return found
        if mrn is not None:
            # newest first: a movement's arrival may be declared again in a new transaction
            for ref in reversed(self.db.references(mrn, correlation.MRN)):
                latest = self.db.latest_submission(ref["transaction_id"])
                found = self._answer_context(latest, partial)
                if found is not None:
                    return found
        return None

    def _answer_context(self, sub: dict[str, Any] | None, partial: dict[str, Any]) -> dict[str, Any] | None:
        if sub is None:
            return None
        try:
            doc = self.db.carnet(sub["carnet_id"]).doc
        except NotFound:
            return None
        tx = next((t for t in doc.transactions if t.transaction_id == sub["transaction_id"]), None)
        if tx is None or not correlation.fits(partial, tx.kind.value):
            return None
        return {
            "message_id": sub["message_id"],
            "carnet_id": sub["carnet_id"],
            "transaction_id": sub["transaction_id"],
            "kind": tx.kind.value,
            "office": tx.office,
        }

    def _submission_for(self, response: Response, territory: str) -> dict[str, Any]:
        """The submission an answer replies to: the transaction's newest one, sent to ``territory``."""
        sub = self.db.submission(message_id=response.in_reply_to)
        if sub is None:
            raise refuse(
                Code.UNKNOWN_REFERENCE,
                "/in_reply_to",
                f"no declaration sent by this gateway has the reference {response.in_reply_to}; "
                "the answer was attached to no carnet",
            )
        if sub["territory"] != territory:
            raise refuse(
                Code.NOT_AUTHORISED,
                "/in_reply_to",
                f"declaration {response.in_reply_to} went to customs of {sub['territory']}, not {territory}",
            )
        for field in ("carnet_id", "transaction_id"):
            named = getattr(response, field, None)
            if named and named != sub[field]:
                raise refuse(
                    Code.UNKNOWN_REFERENCE,
                    f"/{field}",
                    f"the answer names {field.replace('_', ' ')} {named}, but declaration "
                    f"{response.in_reply_to} was sent for {sub[field]}",
                )
        latest = self.db.latest_submission(sub["transaction_id"])
        if latest is not None and latest["message_id"] != sub["message_id"]:
            raise refuse(
                Code.UNKNOWN_REFERENCE,
                "/in_reply_to",
                f"declaration {response.in_reply_to} was superseded by {latest['message_id']}; "
                "only the answer to the newest submission counts",
            )
        return sub

    def _apply(self, response: Response, territory: str) -> str:
        if self.db.answer_seen(response.message_id):
            return "duplicate"  # an answer delivered twice changes nothing
        sub = self._submission_for(response, territory)
        row = self._row(sub["carnet_id"])
        i, tx = self._tx(row.doc, sub["transaction_id"])
        if tx.state in (TransactionState.COMMITTED, TransactionState.CANCELLED):
            return "duplicate"  # decided already (e.g. a second answer to the same declaration)
        if tx.state != TransactionState.SUBMITTED:
            raise refuse(
                Code.ORDER,
                "/in_reply_to",
                f"transaction {tx.transaction_id} is {tx.state.value}, not awaiting an answer from customs",
            )
        if response.endorsement is not None:
            # Customs' answer goes through the rules (gateway/rules/answers.py): refused back to customs with
            # code and article (the transaction stays submitted) or recorded corrected with a notice.
            verdict = check_answer(row.doc, i, response.endorsement)
            if isinstance(verdict, Refused):
                raise verdict.refusal()
            new = tx.model_copy(
                update={
                    "state": TransactionState.COMMITTED,
                    "endorsement": verdict.endorsement,
                    "rejection": None,
                }
            )
            kind, detail = "committed", verdict.endorsement.model_dump(mode="json")
            if verdict.notices:  # for the holder and the answering customs alike
                detail["notices"] = [n.as_dict() for n in verdict.notices]
        else:  # the reason stays in the transaction's history (rejections), for the rejecting customs
            new = rejected(tx, response.rejection)  # type: ignore[arg-type]
            kind, detail = "rejected", response.rejection.model_dump(mode="json")  # type: ignore[union-attr]
        doc = row.doc.model_copy(
            update={"transactions": (*row.doc.transactions[:i], new, *row.doc.transactions[i + 1 :])}
        )
        if kind == "committed" and row.doc.carnet.status == CarnetStatus.ISSUED:
            doc = doc.model_copy(
                update={"carnet": doc.carnet.model_copy(update={"status": CarnetStatus.ACTIVATED})}
            )
        # Conflict (carnet changed, or the same answer applied meanwhile): apply_response reads again
        with self.db.begin() as c:
            self.db.save(doc, row.version, conn=c)
            self.db.add_answer(response.message_id, territory, response.in_reply_to, kind, c)
            if response.endorsement is not None:  # the MRN customs allocated (IE029, CDS Declaration/ID)
                self.db.add_reference(
                    response.endorsement.reference, correlation.MRN, correlation.RECEIVED, sub, c
                )
            self.db.add_event(
                doc.carnet.carnet_id,
                kind,
                detail,
                transaction_id=tx.transaction_id,
                territory=territory,
                conn=c,
            )
        self.observe(territory, tx.kind.value, kind, response.in_reply_to)
        return kind

    def claim_received(
        self, territory: str, claim: Claim, forward: Callable[[Claim], bool] | None = None
    ) -> None:
        """A verified claim from customs of ``territory``: relayed along the chain (``forward``) and shown on
        the carnet to its parties. A barred claim is refused (Annex A Art. 8.4); one above 110 % of the
        duties is accepted with the liability capped at 110 % and the cap recorded (Art. 8.2), never refused:
        the event shows the cap and its notice beside the sum claimed."""
        from gateway.claims.deadlines import cap_claim

        self._row(claim.carnet_id)  # 301 for a carnet this gateway does not know
        relayed = forward(claim) if forward is not None else False
        capped, notice = cap_claim(claim)
        detail = _claim_detail(capped, relayed)
        if notice is not None:
            detail |= {"capped_at": str(capped.capped_at), "notices": [notice.as_dict()]}
        self.db.add_event(claim.carnet_id, "claim_notified", detail, territory=territory)

    def cancel(
        self, party: Party, carnet_id: str, transaction_id: str, code: str, reason: str
    ) -> Transaction:
        """Customs cancel a committed transaction by mutual consent: the holder's code, the officer's reason."""
        if party.role != CUSTOMS:
            raise _denied("cancel transactions")
        row = self._row(carnet_id)
        _, tx = self._tx(row.doc, transaction_id)
        if tx.territory != party.territory:
            raise refuse(Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id}")
        doc = cancel_rule(row.doc, transaction_id, code, reason)
        self._write(
            row, doc, "cancelled", {"reason": reason}, transaction_id=transaction_id, territory=tx.territory
        )
        return self._tx(doc, transaction_id)[1]

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
            raise _denied("record paper endorsements")
        row = self._row(carnet_id)
        i, tx = self._tx(row.doc, transaction_id)
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
        self._write(
            row, doc, "paper_reconciled", detail, transaction_id=transaction_id, territory=tx.territory
        )
        return doc.transactions[i]

    def events_for(self, party: Party, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """What ``party`` may see: customs their territory's events, auditors all, operators the metadata
        of all (no details: those carry endorsements, items and claims), others their carnets'."""
        if party.role == CUSTOMS:
            return self.db.events(territory=party.territory, after=after, limit=limit)
        if party.role == AUDITOR:
            return self.db.events(after=after, limit=limit)
        if party.role == OPERATOR:
            return [{k: e[k] for k in EVENT_METADATA} for e in self.db.events(after=after, limit=limit)]
        return self.db.events(carnet_ids=self.db.carnets_of(party), after=after, limit=limit)

    # -- webhook subscriptions ------------------------------------------------------------------
    def subscribe(self, party: Party, url: str, kinds: list[str]) -> dict[str, Any]:
        """Push the party's future events of ``kinds`` to ``url``; the HMAC secret is shown only now."""
        unknown = sorted(set(kinds) - WEBHOOK_KINDS)
        if not kinds or unknown:
            raise refuse(
                Code.BAD_VALUE,
                "/events",
                f"choose among {', '.join(sorted(WEBHOOK_KINDS))}"
                + (f"; not {', '.join(unknown)}" if unknown else ""),
            )
        # a public address, or one the operator allows (EATA_WEBHOOK_ALLOW); checked again at delivery
        self.destinations.check(url)
        # Standard Webhooks secret: whsec_ and 32 random bytes in base64
        hook_id, secret = uuid.uuid4().hex, "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        added = self.db.add_webhook(
            hook_id,
            party.id,
            url,
            sorted(set(kinds)),
            secret,
            self.db.last_event_id(),
            cap=self.webhook_cap,
        )
        if not added:
            raise refuse(
                Code.LIMIT_REACHED,
                "/url",
                f"a party may have at most {self.webhook_cap} webhook subscriptions; "
                "delete one (DELETE /v1/webhooks/{id}) before adding another",
            )
        return {"id": hook_id, "url": url, "events": sorted(set(kinds)), "secret": secret}

    def subscriptions(self, party: Party, after: str = "", limit: int = 50) -> list[dict[str, Any]]:
        """The party's subscriptions in ID order, ``limit`` of them after the ID ``after`` (paging)."""
        return [
            {k: h[k] for k in ("id", "url", "last_event_id", "failures", "disabled")} | {"events": h["kinds"]}
            for h in self.db.webhooks(party.id, after=after, limit=limit)
        ]

    def unsubscribe(self, party: Party, hook_id: str) -> None:
        if not self.db.delete_webhook(hook_id, party.id):
            raise refuse(Code.CARNET_NOT_FOUND, "/id", f"no webhook {hook_id}")

    def customs_transactions(self, party: Party, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        if party.role != CUSTOMS:
            raise _denied("list customs transactions")
        return self.db.events(territory=party.territory, after=after, limit=limit)

    def customs_history(
        self, party: Party, carnet_id: str | None = None, transaction_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The vouchers declared to customs of ``party``'s territory, each with its rejection history.

        A rejection does not use up the voucher, and its reason is visible to customs of the territory that
        rejected (eATA practice): it stays in the transaction's ``rejections`` through later submissions and
        the commit, so the next officer sees why the last one refused. Customs see only what was declared to
        them (a transaction of their territory that reached them: submitted, answered or fallen back to
        paper), only their own territory's rejections, and only the voucher's metadata — never the rest of
        the carnet, other territories' vouchers, or the holder's cancellation code."""
        if party.role != CUSTOMS or not party.territory:
            raise _denied("read customs transactions")
        seen: dict[tuple[str, str], None] = {}
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
                    seen.setdefault((e["carnet_id"], e["transaction_id"]), None)
            if len(page) < 500:
                break
            after = page[-1]["id"]
        docs: dict[str, CarnetDocument | None] = {}
        out = []
        for cid, tid in seen:
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
        if transaction_id and not out:
            raise refuse(Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id}")
        return out

    # -- sharing with representatives -------------------------------------------------------------
    def share(
        self, party: Party, carnet_id: str, travel_id: str, transactions: list[str], ttl_s: int
    ) -> tuple[str, float]:
        row = self._owned(party, carnet_id, HOLDER)
        if row.doc.carnet.signature is None:
            raise refuse(
                Code.NOT_SIGNED, "/carnet/signature", "only a signed carnet's vouchers can be shared"
            )
        self.travel(party, carnet_id, travel_id)
        for tid in transactions:
            _, tx = self._tx(row.doc, tid)
            if tx.travel_id != travel_id:
                raise refuse(
                    Code.BAD_VALUE, "/transactions", f"transaction {tid} is not part of travel {travel_id}"
                )
        token = secrets.token_urlsafe(24)
        signed = f"{token}.{hmac.new(self.share_secret, token.encode(), 'sha256').hexdigest()[:16]}"
        expires = time.time() + ttl_s
        self.db.add_share(key_hash(signed), carnet_id, travel_id, transactions, expires)
        return signed, expires

    def shared(self, party: Party, link: str) -> dict[str, Any]:
        if party.role != REPRESENTATIVE:
            raise _denied("open shared vouchers")
        token, _, mac = link.partition(".")
        good = hmac.compare_digest(  # as bytes: a non-ASCII link is simply wrong, not a crash
            mac.encode(), hmac.new(self.share_secret, token.encode(), "sha256").hexdigest()[:16].encode()
        )
        share = self.db.share(key_hash(link)) if good else None
        if share is None or share["expires"] < time.time():
            raise refuse(Code.NOT_AUTHORISED, "/link", "this link is unknown or has expired")
        doc = self.db.carnet(share["carnet_id"]).doc
        # What a representative needs at the border: the vouchers and the goods they cover. Never the
        # cancellation code (the holder's consent to cancel) nor the rest of the carnet.
        shown = [t for t in doc.transactions if t.transaction_id in share["transactions"]]
        vouchers = [t.model_dump(mode="json", exclude={"cancellation_code"}) for t in shown]
        from gateway.items import parse_items

        general = doc.carnet.items_by_number
        numbers = sorted({n for t in shown for n in parse_items(t.items, general.keys())})
        return {
            "carnet_id": doc.carnet.carnet_id,
            "holder": doc.carnet.holder.name,
            "travel_id": share["travel_id"],
            "vouchers": vouchers,
            "items": [general[n].model_dump(mode="json") for n in numbers if n in general],
            "expires": datetime.fromtimestamp(share["expires"], UTC).isoformat(),
        }


# What a webhook may subscribe to: customs' outcomes and what the holder and the chain must act on.
WEBHOOK_KINDS = frozenset(
    {
        "committed",
        "rejected",
        "cancelled",
        "paper_fallback",
        "held",
        "answer_refused",
        "claim_notified",
        "claim_closed",
    }
)


def _claim_detail(claim: Claim, relayed: bool) -> dict[str, Any]:
    return {
        "claim_id": claim.claim_id,
        "items": claim.items,
        "amount": str(claim.amount),
        "currency": claim.currency,
        "notified_on": claim.notified_on.isoformat(),
        "relayed": relayed,
        "note": "relayed to the guaranteeing association (Annex A Art. 8)"
        if relayed
        else "recorded; no guarantee chain configured here (EATA_CHAIN_KEYS): relay it to the association",
    }


@dataclass(frozen=True, slots=True)
class _PinGate:
    attempt_id: int
    pin_hash: str


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


class PreconditionRequired(Exception):
    pass


class PreconditionFailed(Exception):
    def __init__(self, current: int):
        self.current = current


def today() -> date:
    return datetime.now(UTC).date()
