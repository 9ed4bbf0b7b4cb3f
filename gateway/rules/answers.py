"""Customs' answers go through the rules: an endorsement that breaks one is never stored silently.

:func:`check_answer` decides, purely, what becomes of customs' endorsement of a submitted transaction:

- :class:`Accept` — it fits the carnet's history; notices the ledger recorded come with it (a late
  transit discharge, an Art. 10.2 importation elsewhere);
- :class:`Corrected` — it is recorded as the Convention has it, with a notice to holder and customs;
- :class:`Refused` — it goes back to customs with code and article; the transaction stays submitted.

Which rule gets which treatment, and why (the rule table, ``gateway/articles.py``, carries the same):

=====  ==========================================  =========  ==============================================
code   rule                                        answer     why
=====  ==========================================  =========  ==============================================
308    re-export date past the carnet's validity   corrected  Annex A Art. 7 says the period "in no case"
       (importation, Annex A Art. 7)                          runs past validity: the lawful date is the
                                                              validity, whatever was typed; refusing would
                                                              leave goods admitted with no voucher at all
312    re-export date shorter than the annex       corrected  Annex B1 Art. 4.1 / B2 Art. 5 give the holder
       minimum (B1 6 months, B2 12 months)                    at least that period; customs may grant more
                                                              (Convention Art. 7.2), never less
310    endorsement from another office             refused    the answer is not for this declaration; who
                                                              stamped cannot be corrected by the gateway
311    seals not confirmed intact at discharge     refused    a fact only customs state: they reject the
                                                              discharge or answer again once checked
206    transit discharged late                     accepted   the goods arrived: recorded and flagged
                                                              (Annex A Art. 8.1), never left "in transit"
215    imported elsewhere / re-imported while      accepted   Annex A Art. 10.2: the second territory's
       still admitted in another territory                    customs decide; recorded with a flag
217    imported elsewhere / re-imported while      accepted   the goods left the transit territory: its
       still in transit through another                       customs take the entry as proof (Annex A
       territory (transit never discharged)                   Art. 10.2, by Art. 2.3) or claim (Art. 8.1)
other  any other rule of the ledger (dates, items  refused    a fact of the carnet's history the answer
       not where the voucher needs them, expiry,              contradicts (for instance another voucher was
       closed carnet, unknown office, ...)                    committed meanwhile): customs answer again
=====  ==========================================  =========  ==============================================

The invariant: whatever customs answer, the stored carnet is one :func:`~gateway.rules.judge` accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import Code, Problem, Refusal, pointer
from gateway.model import (
    CarnetDocument,
    CarnetStatus,
    Endorsement,
    Rejection,
    Transaction,
    TransactionState,
    replace_transaction,
)
from gateway.model import TransactionKind as K
from gateway.rules.dates import add_months
from gateway.rules.ledger import MIN_REEXPORT_MONTHS, judge

# The per-rule choice, by code: "corrected", "refused" or "accepted" (see the module docstring for why).
ANSWER_TREATMENT: dict[int, str] = {
    Code.DEADLINE_PAST_VALIDITY: "corrected",
    Code.DEADLINE_TOO_SHORT: "corrected",
    Code.WRONG_OFFICE: "refused",
    Code.SEALS: "refused",
    Code.TRANSIT_OVERDUE: "accepted",
    Code.ADMISSION_OPEN_ELSEWHERE: "accepted",
    Code.TRANSIT_OPEN_ELSEWHERE: "accepted",
}


@dataclass(frozen=True, slots=True)
class Accept:
    endorsement: Endorsement
    notices: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Corrected:
    endorsement: Endorsement  # what is recorded
    notices: tuple[
        Problem, ...
    ]  # what was corrected (216) and what the ledger flagged, for holder and customs


@dataclass(frozen=True, slots=True)
class Refused:
    problems: tuple[Problem, ...]

    @property
    def problem(self) -> Problem:
        return self.problems[0]

    def refusal(self) -> Refusal:
        return Refusal(self.problems)


Verdict = Accept | Corrected | Refused


def committed(doc: CarnetDocument, index: int, endorsement: Endorsement) -> CarnetDocument:
    """``doc`` with transaction ``index`` committed under ``endorsement`` (an issued carnet activates).

    The rejection history stays on the transaction (:func:`rejected`)."""
    tx = doc.transactions[index]
    new = tx.model_copy(
        update={"state": TransactionState.COMMITTED, "endorsement": endorsement, "rejection": None}
    )
    out = replace_transaction(doc, index, new)
    if out.carnet.status == CarnetStatus.ISSUED:
        out = out.model_copy(
            update={"carnet": out.carnet.model_copy(update={"status": CarnetStatus.ACTIVATED})}
        )
    return out


def rejected(tx: Transaction, rejection: Rejection) -> Transaction:
    """Customs' rejection: the voucher stays unused, and the reason is kept in the transaction's history
    (``rejections``) through later submissions and the final commit, for the rejecting customs to see."""
    return tx.model_copy(
        update={
            "state": TransactionState.REJECTED,
            "rejection": rejection,
            "rejections": (*tx.rejections, rejection),
        }
    )


def check_answer(doc: CarnetDocument, index: int, endorsement: Endorsement) -> Verdict:
    """What the Convention makes of customs' ``endorsement`` of transaction ``index`` (nothing changes)."""
    tx = doc.transactions[index]
    at = pointer("transactions", index)
    if tx.state in (TransactionState.COMMITTED, TransactionState.CANCELLED):
        return Refused(
            (Problem(Code.DUPLICATE, f"{at}/state", f"this transaction is already {tx.state.value}"),)
        )
    fixed, corrections = _corrected(doc, tx, endorsement, at)
    try:
        ledger = judge(committed(doc, index, fixed))
    except Refusal as r:
        return Refused(r.problems)
    flagged = tuple(n for n in ledger.notices if n.pointer == at or n.pointer.startswith(at + "/"))
    if corrections:
        return Corrected(fixed, (*corrections, *flagged))
    return Accept(fixed, flagged)


def _corrected(
    doc: CarnetDocument, tx: Transaction, e: Endorsement, at: str
) -> tuple[Endorsement, tuple[Problem, ...]]:
    """The endorsement as the Convention has it, and a notice per correction made."""
    if tx.kind != K.IMPORTATION or e.final_date is None:
        return e, ()
    c = doc.carnet
    here = f"{at}/endorsement/final_date"
    if e.final_date > c.valid_until:
        notice = Problem(
            Code.ANSWER_CORRECTED,
            here,
            f"customs gave until {e.final_date} to re-export, past the carnet's validity ({c.valid_until}); "
            f"recorded as {c.valid_until}, the latest date the Convention allows",
            "Annex A Art. 7",
        )
        return e.model_copy(update={"final_date": c.valid_until}), (notice,)
    minimum = MIN_REEXPORT_MONTHS.get(c.annex)
    if minimum is not None:
        floor = min(add_months(tx.date, minimum[0]), c.valid_until)
        if e.final_date < floor:
            notice = Problem(
                Code.ANSWER_CORRECTED,
                here,
                f"customs gave until {e.final_date} to re-export; {c.annex.value} goods are given at least "
                f"{minimum[0]} months (capped by the carnet's validity): recorded as {floor}",
                minimum[1],
            )
            return e.model_copy(update={"final_date": floor}), (notice,)
    return e, ()
