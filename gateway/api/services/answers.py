"""What customs systems send back: answers matched to the declaration they reply to and applied once,
and a territory that could not be reached (paper fallback or hold)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from gateway import correlation
from gateway.api.services.repository import Carnets, find_transaction, replace_transaction
from gateway.api.services.submissions import Submissions
from gateway.api.services.views import rejection_notice
from gateway.errors import Code, refuse
from gateway.messages import Response
from gateway.model import CarnetStatus, TransactionState
from gateway.rules import Refused, check_answer, rejected
from gateway.store import Conflict, NotFound

log = logging.getLogger("eata.service")


class Answers:
    def __init__(self, carnets: Carnets, submissions: Submissions) -> None:
        self.carnets = carnets
        self.db = carnets.db
        self.submissions = submissions
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

    def unavailable(self, carnet_id: str, transaction_id: str, *, resubmit: bool) -> None:
        """Customs could not be reached: back to prepared (paper fallback), or queued again (hold)."""
        row = self.carnets.row(carnet_id)
        i, tx = find_transaction(row.doc, transaction_id)
        if tx.state != TransactionState.SUBMITTED:
            return
        if resubmit:
            self.submissions.enqueue(row, carnet_id, transaction_id, again=True)
            return
        back = tx.model_copy(update={"state": TransactionState.PREPARED})
        doc = replace_transaction(row.doc, i, back)
        self.carnets.write(
            row,
            doc,
            "prepared",
            {"why": "customs unavailable"},
            transaction_id=transaction_id,
            territory=tx.territory,
        )

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
        row = self.carnets.row(sub["carnet_id"])
        i, tx = find_transaction(row.doc, sub["transaction_id"])
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
            rejection = response.rejection
            assert rejection is not None  # a Response holds an endorsement or a rejection, never neither
            new = rejected(tx, rejection)
            # the event reaches holders, webhooks, SSE and the console: it carries only the notice
            kind, detail = "rejected", rejection_notice(rejection.model_dump(mode="json"), territory)
        doc = replace_transaction(row.doc, i, new)
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
