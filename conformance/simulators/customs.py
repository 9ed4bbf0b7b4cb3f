"""The decision side of a simulated national customs system: judge a declaration, answer it once.

It reads what decode returns (hardened parse, the gateway's signature verified against the simulator's
trust store, XSD) and decides the way customs do on the declaration's own facts:

- 304 the office is not one of the territory's (adapter's list; any office of the country when none is
  listed, unless the adapter says ``office_policy="listed"``);
- 203 the carnet's validity ended before the declaration's date (entries, exits, transit starts);
- 302 an item not on the carnet's general list, when the eATA Core told customs the list (``carnets``);
- 206 a transit discharged after the final date set at its start (the movement in the NCTS domain);
- the territory's own quirk rule (adapter ``check``), e.g. upper-case names in FR;
- 205 a re-exportation after the final date this system set at importation;
- otherwise commit: office, place, time, an MRN-like reference and, for an importation, the final date
  for re-exportation = min(date + 12 months, valid until) (Convention Art. 7, Annex A Art. 7).

Idempotent by message ID: the same declaration again gets the same answer and no second effect; another
declaration under a used message ID is rejected 299. A committed transaction can be cancelled (the officer
enters the holder's cancellation code): its record is rolled back.

``misbehaves(kind)`` (set by the app from the fault profile) switches on deliberate non-conformities
(see :mod:`conformance.simulators.faults`): the conformance suite must catch each of them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from gateway.adapter_spec import Adapter
from gateway.bounded import DEFAULT_LIMIT, Bounded
from gateway.codec import decode, encode
from gateway.errors import Code, Problem, refuse
from gateway.messages import Declaration, Response
from gateway.model import Endorsement, Rejection, TransactionKind
from gateway.signing import Signer, Verifier

K = TransactionKind
_DATED = frozenset({K.ACTIVATION, K.EXPORTATION, K.PRE_EXPORTATION, K.IMPORTATION, K.TRANSIT_START})
# EU two-step re-export (issue 14, item 8): the goods leave at the exit, so the re-export deadline is
# judged there (and at a one-step re-export), never at the inland pre-re-exportation.
_LEAVES = frozenset({K.RE_EXPORTATION, K.RE_EXPORTATION_EXIT})


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class Record:
    digest: str
    response: Response
    receipts: int = 1
    cancelled: str | None = None  # the officer's reason, once cancelled


@dataclass(frozen=True)
class CarnetFacts:
    """What the eATA Core tells customs about a carnet: its general list and validity."""

    items: frozenset[int]
    valid_until: dt.date


class NationalCustoms:
    """One territory's system: decisions, records per message ID, deadlines it set."""

    def __init__(
        self,
        adapter: Adapter,
        signer: Signer,
        verifier: Verifier,
        movements: dict[str, Declaration] | None = None,
        carnets: dict[str, CarnetFacts] | None = None,
    ) -> None:
        self.adapter = adapter
        self.signer = signer
        self.verifier = verifier
        self.records: dict[str, Record] = Bounded()
        self.effects: dict[str, int] = Bounded()  # message ID -> decisions taken (1 = exactly once)
        self.deadlines: dict[tuple[str, int], dt.date] = Bounded(
            4 * DEFAULT_LIMIT
        )  # (carnet, item) -> final date
        # MRN -> the transit declaration: NCTS's common domain, shared by all simulated territories so
        # the office of destination knows a movement another territory's office of departure opened.
        self.movements: dict[str, Declaration] = Bounded() if movements is None else movements
        self.carnets: dict[str, CarnetFacts] = {} if carnets is None else carnets
        self.misbehaves: Callable[[str], bool] = lambda kind: False
        self._lock = threading.Lock()
        self._seq = 0

    @property
    def officer(self) -> str:
        return f"SIM {self.adapter.code} officer"

    def receive(self, document: bytes) -> Response:
        """Verify and decide; raises Refusal for a document customs cannot read or trust."""
        # An arrival (NCTS IE007) names only its movement: the rest comes from that movement's declaration.
        message = decode(document, self.adapter.code, self.verifier, context=self._movement)
        if not isinstance(message, Declaration):
            raise refuse(Code.SCHEMA, "/", "customs receive declarations, not responses")
        digest = hashlib.sha256(message.model_dump_json().encode()).hexdigest()
        with self._lock:
            record = self.records.get(message.message_id)
            if record is not None and self.misbehaves("no_duplicate_check"):
                record = None  # non-conforming: a reused message ID taken as a new declaration
            if record is not None:
                record.receipts += 1
                if record.digest == digest:
                    return record.response  # the same answer again, no second effect
                return self._reject(
                    message,
                    Problem(Code.DUPLICATE, "/message_id", "message ID already used for another declaration"),
                )
            response = self.judge(message)
            self.records[message.message_id] = Record(digest, response)
            self.effects[message.message_id] = self.effects.get(message.message_id, 0) + 1
            return response

    def _movement(self, partial: dict[str, object]) -> Declaration | None:
        return self.movements.get(str(partial.get("movement_reference")))

    def answer(self, response: Response, *, signed: bool = True) -> bytes:
        """The national answer document, signed with the simulator's key unless told otherwise."""
        return encode(
            response,
            self.adapter.code,
            self.signer if signed else None,
            dialect=self.adapter.dialect(response.kind),
        )

    def cancel(self, message_id: str, reason: str) -> bool:
        """The officer cancels a committed transaction by mutual consent; False when there is none."""
        with self._lock:
            record = self.records.get(message_id)
            if record is None or not record.response.committed or record.cancelled is not None:
                return False
            record.cancelled = reason or "cancelled"
            self.effects[message_id] = self.effects.get(message_id, 1) - 1  # rolled back
            if record.response.kind == K.IMPORTATION:  # the deadlines it set go with it
                for key in [k for k in self.deadlines if k[0] == record.response.carnet_id]:
                    del self.deadlines[key]
            return True

    def find(self, message_id: str) -> Response | None:
        record = self.records.get(message_id)
        return record.response if record else None

    # -- the decision --------------------------------------------------------------------------------
    def judge(self, d: Declaration) -> Response:
        problem = self._problem(d)
        if problem is not None:
            return self._reject(d, problem)
        final: dt.date | None = None
        if d.kind == K.IMPORTATION:
            final = min(add_months(d.date, 12), d.valid_until)
            for item in d.items:
                self.deadlines[(d.carnet_id, item.item_number)] = final
        elif d.kind == K.EXPORTATION:
            final = d.valid_until  # final date for re-importation
        elif d.kind == K.TRANSIT_START:
            final = min(d.date + dt.timedelta(days=8), d.valid_until)
        office = self.adapter.office(d.office)
        # A release at destination (IE025) names the movement's own MRN; other decisions allocate one.
        reference = (
            d.movement_reference if d.kind == K.TRANSIT_DISCHARGE and d.movement_reference else self._mrn(d)
        )
        if d.kind == K.TRANSIT_START:
            self.movements[reference] = d
        return self._response(
            d,
            endorsement=Endorsement(
                office=d.office,
                place=(office.name if office else f"{self.adapter.name} customs")[:70],
                at=_now(),
                reference=reference,
                final_date=final,
                seals_intact=True if d.kind == K.TRANSIT_DISCHARGE else None,
                officer=self.officer,
            ),
        )

    def _problem(self, d: Declaration) -> Problem | None:
        if not self.adapter.knows_office(d.office):
            if self.misbehaves("generic_errors"):  # non-conforming: a catch-all code instead of 304
                return Problem(Code.CUSTOMS_REJECTED, "/", "declaration not accepted")
            return Problem(
                Code.UNKNOWN_OFFICE, "/office", f"{d.office} is not a customs office of {self.adapter.code}"
            )
        if d.kind in _DATED and d.date > d.valid_until and not self.misbehaves("accept_expired"):
            return Problem(
                Code.EXPIRED, "/valid_until", f"the carnet expired on {d.valid_until}", "Annex A Art. 5"
            )
        facts = self.carnets.get(d.carnet_id)
        if facts is not None:
            for item in d.items:
                if item.item_number not in facts.items:
                    return Problem(
                        Code.ITEM_NOT_ON_LIST,
                        "/items",
                        f"item {item.item_number} is not on the general list of carnet {d.carnet_id}",
                        "Annex A Art. 5.3",
                    )
        if d.kind == K.TRANSIT_DISCHARGE and d.movement_reference:
            movement = self.movements.get(d.movement_reference)
            if movement is not None and movement.transit is not None and d.date > movement.transit.final_date:
                return Problem(
                    Code.TRANSIT_OVERDUE,
                    "/date",
                    f"transit {d.movement_reference} was due at destination by {movement.transit.final_date}",
                    "Annex A (transit voucher)",
                )
        if self.adapter.check is not None and (problem := self.adapter.check(d)) is not None:
            return problem
        if d.kind in _LEAVES:
            for item in d.items:
                deadline = self.deadlines.get((d.carnet_id, item.item_number))
                if deadline is not None and d.date > deadline:
                    return Problem(
                        Code.DEADLINE_PASSED,
                        "/date",
                        f"item {item.item_number} was due for re-export by {deadline}",
                        "Art. 7",
                    )
        return None

    def _reject(self, d: Declaration, problem: Problem) -> Response:
        return self._response(
            d,
            rejection=Rejection(
                office=d.office, at=_now(), code=problem.code, reason=problem.message, officer=self.officer
            ),
        )

    def _response(self, d: Declaration, **answer: object) -> Response:
        self._seq += 1  # every answer its own ID, even a 299 to a reused message ID
        rid = (
            "R" + hashlib.sha256(f"{self.adapter.code}/{d.message_id}/{self._seq}".encode()).hexdigest()[:20]
        )
        # The record keeps carnet and transaction; the national answer written from it carries only the
        # references a real system sends (LRN answered, MRN), as the response mappings say.
        return Response(
            message_id=rid.upper(),
            in_reply_to=d.message_id,
            carnet_id=d.carnet_id,
            transaction_id=d.transaction_id,
            movement_reference=d.movement_reference if d.kind == K.TRANSIT_DISCHARGE else None,
            kind=d.kind,
            **answer,  # type: ignore[arg-type]  # endorsement= or rejection=, as the callers build it
        )

    def _mrn(self, d: Declaration) -> str:
        """An MRN: year, country, 12 characters, procedure letter (J: ATA) and a check digit."""
        digest = hashlib.sha256(f"{d.message_id}/{d.carnet_id}".encode()).hexdigest()
        return f"{d.date:%y}{self.adapter.code}{digest[:12].upper()}J{int(digest[12:20], 16) % 10}"

    def state(self) -> dict[str, object]:
        with self._lock:
            return {
                "receipts": {m: r.receipts for m, r in self.records.items()},
                "effects": dict(self.effects),
                "decisions": {
                    m: ("endorsement" if r.response.committed else f"rejection {r.response.rejection.code}")  # type: ignore[union-attr]  # not committed: a rejection
                    for m, r in self.records.items()
                },
            }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
