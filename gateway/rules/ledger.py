"""The carnet ledger: replay committed transactions, accept or refuse the next one with a reason.

Only committed transactions move goods; a rejection leaves the voucher unused and a cancellation rolls
the transaction back (eATA practice). The EU counts as one customs territory throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol, TypedDict

from gateway import offices
from gateway.errors import Code, Problem, Refusal, pointer, refuse
from gateway.items import format_items, parse_items
from gateway.model import (
    Annex,
    Carnet,
    CarnetDocument,
    CarnetStatus,
    Transaction,
    TransactionKind,
    TransactionState,
    replace_transaction,
)
from gateway.rules.carnet import carnet_problems, closed_problem, signature_valid_on
from gateway.rules.dates import add_months
from gateway.rules.positions import Position, Where
from gateway.territories import EU, covered, customs_territory

K = TransactionKind

# Minimum re-export periods customs must grant, by annex (capped by validity, Annex A Art. 7).
MIN_REEXPORT_MONTHS: dict[Annex, tuple[int, str]] = {
    Annex.B1: (6, "Annex B1 Art. 4.1"),
    Annex.B2: (12, "Annex B2 Art. 5"),
}
# Kinds that happen in the issuing customs territory; the rest happen abroad.
HOME_KINDS = frozenset({K.ACTIVATION, K.EXPORTATION, K.PRE_EXPORTATION, K.EXIT, K.RE_IMPORTATION})
# EU two-step (eATA "Export" inland, then "Exit" at the border): the first step and the step it needs.
PRE_EXPORT_KINDS = {K.PRE_EXPORTATION: K.EXIT, K.PRE_RE_EXPORTATION: K.RE_EXPORTATION_EXIT}
CLOSING_KINDS = {
    K.HOME_USE: "Convention Art. 13",
    K.DESTRUCTION: "Convention Art. 14",
    K.ABANDONMENT: "Convention Art. 14",
}
OfficeCheck = Callable[[str], bool]


class Wrong(Protocol):
    """Builds the refusal for an item in the wrong state: what was expected, the article broken."""

    def __call__(self, expected: str, article: str | None = None) -> Refusal: ...


class _Moved(TypedDict):
    """What every position a transaction makes records of it."""

    country: str
    since: date
    under: str


@dataclass
class Ledger:
    carnet: Carnet
    office_known: OfficeCheck | None = None
    activated: bool = False
    positions: dict[int, Position] = field(default_factory=dict)
    applied: list[Transaction] = field(default_factory=list)
    # Recorded with a flag instead of refused (customs decide, the Convention allows it): Problem-shaped
    notices: list[Problem] = field(default_factory=list)
    pointers: dict[str, str] = field(default_factory=dict)  # transaction id -> its JSON pointer
    _noted: list[Problem] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for item in self.carnet.general_list:
            self.positions.setdefault(item.item_number, Position(item.item_number, Where.HOME))

    # -- queries -------------------------------------------------------------------------------
    @property
    def home_territory(self) -> str:
        return customs_territory(self.carnet.issuing_country)

    def all_home(self) -> bool:
        return all(p.where in (Where.HOME, Where.CLOSED, Where.REPLACED) for p in self.positions.values())

    def discharge_to(self, successor: str) -> None:
        """Annex A Art. 14.1: customs accepting the replacement carnet discharge this one; every item still
        abroad (admitted, in transit, or out under no admission) moves to the successor, where it stays."""
        for n, p in self.positions.items():
            if p.where not in (Where.HOME, Where.CLOSED):
                self.positions[n] = replace(p, where=Where.REPLACED, successor=successor)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.open]

    def flags(self, item: int, today: date | None = None) -> tuple[str, ...]:
        """An item's flags: those recorded with it, plus ``transit_overdue``/``deadline_passed`` when it is
        still open past its final date on ``today``."""
        p = self.positions[item]
        late = today is not None and p.open and p.deadline is not None and p.deadline < today
        extra = ("transit_overdue" if p.where == Where.IN_TRANSIT else "deadline_passed",) if late else ()
        return tuple(dict.fromkeys((*p.flags, *extra)))

    def overdue(self, today: date) -> list[Problem]:
        """Flags for what is still open past its final date on ``today``: a transit never discharged
        (206) or an admission never ended (205). Customs may claim for these (Annex A Art. 8.1)."""
        groups: dict[tuple[str, str | None, date], list[int]] = {}
        for p in sorted(self.positions.values(), key=lambda p: p.item):
            if p.open and p.deadline is not None and p.deadline < today:
                groups.setdefault((p.where.value, p.under, p.deadline), []).append(p.item)
        out = []
        for (where, under, deadline), items in groups.items():
            at = self.pointers.get(under or "", "")
            what = format_items(items)
            if where == Where.IN_TRANSIT:
                out.append(
                    Problem(
                        Code.TRANSIT_OVERDUE,
                        at,
                        f"the transit of item(s) {what} had to be discharged by {deadline} and never was",
                        "Annex A Art. 8.1",
                    )
                )
            else:
                out.append(
                    Problem(
                        Code.DEADLINE_PASSED,
                        at,
                        f"item(s) {what} had to be re-exported by {deadline} and are still shown under admission",
                        "Convention Art. 7",
                    )
                )
        return out

    # -- the rules -----------------------------------------------------------------------------
    def check(self, tx: Transaction, at: str = "") -> list[Problem]:
        """Problems that would refuse ``tx`` as the next committed transaction (nothing changes)."""
        try:
            self._next_positions(tx, at)
        except Refusal as r:
            return list(r.problems)
        finally:
            self._noted.clear()
        return []

    def apply(self, tx: Transaction, at: str = "") -> None:
        """Commit ``tx`` to the ledger, or raise :class:`Refusal` and leave the ledger unchanged."""
        try:
            moved = self._next_positions(tx, at)
            self.notices.extend(self._noted)
        finally:
            self._noted.clear()
        self.positions.update(moved)
        self.activated = True
        self.applied.append(tx)
        self.pointers[tx.transaction_id] = at

    def _note(self, code: int, pointer: str, message: str, article: str | None = None) -> None:
        self._noted.append(Problem(code, pointer, message, article))

    def _next_positions(self, tx: Transaction, at: str) -> dict[int, Position]:
        c = self.carnet
        territory = customs_territory(tx.territory)
        if self.applied and tx.date < self.applied[-1].date:
            raise refuse(
                Code.ORDER,
                f"{at}/date",
                f"this transaction is dated {tx.date}, before the previous one ({self.applied[-1].date})",
            )
        if tx.date < c.issue_date:
            raise refuse(Code.ORDER, f"{at}/date", f"the carnet was only issued on {c.issue_date}")
        if tx.date > c.valid_until:
            raise refuse(
                Code.EXPIRED,
                f"{at}/date",
                f"the carnet expired on {c.valid_until}; it cannot be used on {tx.date}",
                "Annex A Art. 5.1",
            )
        if c.status == CarnetStatus.DRAFT:
            raise refuse(Code.NOT_ACTIVATED, "/carnet/status", "a draft carnet has not been issued yet")
        if not signature_valid_on(c) or (c.signature and c.signature.signed_at.date() > tx.date):
            raise refuse(
                Code.NOT_SIGNED,
                "/carnet/signature",
                "the holder must sign the carnet (again, after any amendment) before it is used",
            )
        if self.office_known is not None and not self.office_known(tx.office):
            raise refuse(Code.UNKNOWN_OFFICE, f"{at}/office", f"{tx.office} is not a known customs office")
        if tx.endorsement is not None and tx.endorsement.office != tx.office:
            raise refuse(
                Code.WRONG_OFFICE,
                f"{at}/endorsement/office",
                f"the endorsement comes from {tx.endorsement.office}, not the declared office {tx.office}",
            )
        at_home = territory == self.home_territory
        if tx.kind in HOME_KINDS and not at_home:
            raise refuse(
                Code.WRONG_TERRITORY,
                f"{at}/territory",
                f"{tx.kind.value} is done by customs of the issuing territory "
                f"({self.home_territory}), not {tx.territory}",
            )
        if tx.kind not in HOME_KINDS and at_home:
            raise refuse(
                Code.WRONG_TERRITORY,
                f"{at}/territory",
                f"{tx.kind.value} happens abroad, not in the issuing territory {self.home_territory}",
            )
        if not at_home and not covered(tx.territory, c.countries_of_use):
            raise refuse(
                Code.TERRITORY_NOT_COVERED,
                f"{at}/territory",
                f"the carnet is not valid in {tx.territory} (box P lists {', '.join(c.countries_of_use)})",
                "Annex A Art. 6",
            )
        if tx.kind == K.ACTIVATION:
            if self.activated:
                raise refuse(Code.ALREADY_ACTIVATED, f"{at}/kind", "the carnet is already activated")
            return {}
        if not self.activated:
            raise refuse(
                Code.NOT_ACTIVATED,
                f"{at}/kind",
                "the issuing territory's customs must activate (open) the carnet before any other transaction",
            )
        items = parse_items(tx.items, self.positions.keys(), at=f"{at}/items")
        return {n: self._move(tx, self.positions[n], territory, at) for n in items}

    def _move(self, tx: Transaction, pos: Position, territory: str, at: str) -> Position:
        here = self._where(pos)

        def wrong(expected: str, article: str | None = None) -> Refusal:
            return refuse(
                Code.ITEM_STATE,
                f"{at}/items",
                f"item {pos.item} cannot be declared for {tx.kind.value}: it is {here}; {expected}",
                article,
            )

        common: _Moved = {"country": tx.territory, "since": tx.date, "under": tx.transaction_id}
        e = tx.endorsement
        kind = tx.kind
        if kind == K.EXPORTATION:
            if pos.where != Where.HOME:
                raise wrong("only goods in the issuing territory can be exported")
            return Position(pos.item, Where.EXPORTED, deadline=e.final_date if e else None, **common)
        if kind == K.PRE_EXPORTATION:
            if self.home_territory != EU:
                raise refuse(
                    Code.WRONG_TERRITORY, f"{at}/kind", "the two-step export applies to exports from the EU"
                )
            if pos.where != Where.HOME:
                raise wrong("only goods in the EU can be pre-exported")
            return Position(pos.item, Where.PRE_EXPORTED, territory=EU, **common)
        if kind == K.EXIT:
            if pos.where != Where.PRE_EXPORTED:
                raise wrong("an EU exit needs the pre-exportation at the inland office first")
            return Position(pos.item, Where.EXPORTED, deadline=e.final_date if e else None, **common)
        if kind == K.IMPORTATION:
            flags: tuple[str, ...] = ()
            if pos.where == Where.ADMITTED and pos.territory != territory:
                flags = self._still_admitted(tx, pos, at)
            elif pos.where == Where.IN_TRANSIT and pos.territory != territory:
                flags = self._still_in_transit(tx, pos, at)
            elif pos.where == Where.IN_TRANSIT:
                raise wrong(
                    f"the transit through {territory} is discharged at {pos.office_of_destination} before "
                    "the goods are imported there"
                )
            elif pos.where != Where.EXPORTED:
                raise wrong("goods are imported after leaving the previous territory", "Convention Art. 7")
            return Position(
                pos.item,
                Where.ADMITTED,
                territory=territory,
                deadline=self._reexport_deadline(tx, at),
                flags=flags,
                **common,
            )
        if kind == K.PRE_RE_EXPORTATION:
            # A non-EU carnet's goods leaving the EU in two steps: declared for re-export at an inland office;
            # they stay under admission (and flagged overdue) until the exit, where the deadline is judged.
            if territory != EU:
                raise refuse(
                    Code.WRONG_TERRITORY,
                    f"{at}/kind",
                    "the two-step re-export applies to re-exports from the EU",
                )
            if pos.where != Where.ADMITTED or pos.territory != territory:
                raise wrong(
                    "only goods under temporary admission in the EU can be declared for re-export from it"
                )
            return replace(pos, where=Where.PRE_RE_EXPORTED, country=tx.territory, under=tx.transaction_id)
        if kind == K.RE_EXPORTATION_EXIT:
            if pos.where != Where.PRE_RE_EXPORTED or pos.territory != territory:
                raise wrong("an EU exit on re-export needs the re-export declared at the inland office first")
            if pos.deadline and tx.date > pos.deadline:
                raise refuse(
                    Code.DEADLINE_PASSED,
                    f"{at}/date",
                    f"item {pos.item} had to be re-exported by {pos.deadline}; it leaves the EU only now, on "
                    f"{tx.date} (the deadline is judged at the exit, when the goods leave)",
                    "Convention Art. 7",
                )
            return Position(pos.item, Where.EXPORTED, flags=pos.flags, **common)
        if kind == K.RE_EXPORTATION:
            if pos.where != Where.ADMITTED or pos.territory != territory:
                raise wrong(f"only goods under temporary admission in {territory} can be re-exported from it")
            if pos.deadline and tx.date > pos.deadline:
                raise refuse(
                    Code.DEADLINE_PASSED,
                    f"{at}/date",
                    f"item {pos.item} had to be re-exported by {pos.deadline}; it is now {tx.date}",
                    "Convention Art. 7",
                )
            # Several consignments (Art. 10) and another office (Art. 11) need nothing more.
            return Position(pos.item, Where.EXPORTED, **common)
        if kind == K.TRANSIT_START:
            return self._transit_start(tx, pos, territory, at, wrong, common)
        if kind == K.TRANSIT_DISCHARGE:
            return self._transit_discharge(tx, pos, territory, at, wrong, common)
        if kind == K.RE_IMPORTATION:
            flags = ()
            if pos.where == Where.ADMITTED:
                flags = self._still_admitted(tx, pos, at)
            elif pos.where == Where.IN_TRANSIT:  # a transit only ever runs abroad
                flags = self._still_in_transit(tx, pos, at)
            elif pos.where != Where.EXPORTED:
                raise wrong("goods are re-imported after being re-exported from abroad")
            if tx.not_processed_abroad is not True:
                raise refuse(
                    Code.PROCESSED_ABROAD,
                    f"{at}/not_processed_abroad",
                    "the holder must declare the goods were not processed abroad; goods for processing or "
                    "repair cannot travel on a carnet",
                    "Annex A Art. 2.4",
                )
            return Position(pos.item, Where.HOME, flags=flags, **common)
        if kind in CLOSING_KINDS:
            if pos.where != Where.ADMITTED or pos.territory != territory:
                raise wrong(f"only goods under temporary admission in {territory} can be {kind.value}d")
            return Position(pos.item, Where.CLOSED, territory=territory, closed_by=kind.value, **common)
        raise refuse(Code.BAD_VALUE, f"{at}/kind", f"{kind.value} does not move goods")

    def _still_admitted(self, tx: Transaction, pos: Position, at: str) -> tuple[str, ...]:
        """Art. 10.2: an importation or re-importation elsewhere while the ledger still shows the item
        under admission in another territory is recorded (the second territory's customs decide); it is
        what lets the first territory accept proof of re-exportation without its own voucher."""
        self._note(
            Code.ADMISSION_OPEN_ELSEWHERE,
            f"{at}/items",
            f"item {pos.item} is still shown under temporary admission in {pos.territory} (since {pos.since}, "
            f"{pos.under}); its {tx.kind.value.replace('_', '-')} in {tx.territory} on {tx.date} is recorded "
            f"and is proof of re-exportation from {pos.territory}",
            "Annex A Art. 10.2",
        )
        return ("art_10_2",)

    def _still_in_transit(self, tx: Transaction, pos: Position, at: str) -> tuple[str, ...]:
        """Goods still shown in transit through another territory (the blue voucher never discharged) that
        are imported, or re-imported, elsewhere: recorded with a flag and a notice, not refused. The goods
        demonstrably left the transit territory — its customs may take the later importation or
        re-importation as proof they did (Annex A Art. 10.2, the carnet being accepted for transit on the
        same conditions, Annex A Art. 2.3) or claim for the transit's breach (Annex A Art. 8.1); the second
        territory's customs decide on their own entry. A refusal would leave the goods "in transit" for
        good, with no voucher at all where they are."""
        self._note(
            Code.TRANSIT_OPEN_ELSEWHERE,
            f"{at}/items",
            f"item {pos.item} is still shown in transit through {pos.territory} (since {pos.since}, "
            f"{pos.under}, never discharged at {pos.office_of_destination}); its "
            f"{tx.kind.value.replace('_', '-')} in {tx.territory} on {tx.date} is recorded and is proof that "
            f"it left {pos.territory}",
            "Annex A Art. 10.2",
        )
        return ("art_10_2", "transit_not_discharged")

    def _reexport_deadline(self, tx: Transaction, at: str) -> date:
        c = self.carnet
        e = tx.endorsement
        minimum = MIN_REEXPORT_MONTHS.get(c.annex)
        floor = min(add_months(tx.date, minimum[0]), c.valid_until) if minimum else None
        if e is None or e.final_date is None:
            return floor or c.valid_until
        if e.final_date > c.valid_until:
            raise refuse(
                Code.DEADLINE_PAST_VALIDITY,
                f"{at}/endorsement/final_date",
                f"the re-export deadline {e.final_date} runs past the carnet's validity ({c.valid_until})",
                "Annex A Art. 7",
            )
        if floor and e.final_date < floor:
            raise refuse(
                Code.DEADLINE_TOO_SHORT,
                f"{at}/endorsement/final_date",
                f"{c.annex.value} goods must be given until at least {floor} to be re-exported",
                minimum[1] if minimum else None,
            )
        return e.final_date

    def _transit_start(
        self, tx: Transaction, pos: Position, territory: str, at: str, wrong: Wrong, common: _Moved
    ) -> Position:
        t = tx.transit
        if t is None:
            raise refuse(
                Code.MISSING, f"{at}/transit", "a transit needs its office of destination and final date"
            )
        admitted_here = pos.where == Where.ADMITTED and pos.territory == territory
        if pos.where != Where.EXPORTED and not admitted_here:
            raise wrong("transit starts when goods enter the territory or end admission there (Art. 12)")
        if customs_territory(t.office_of_destination[:2]) != territory:
            raise refuse(
                Code.WRONG_TERRITORY,
                f"{at}/transit/office_of_destination",
                f"the office of destination {t.office_of_destination} is outside {territory}",
            )
        if t.final_date > self.carnet.valid_until:
            raise refuse(
                Code.DEADLINE_PAST_VALIDITY,
                f"{at}/transit/final_date",
                f"the transit's final date {t.final_date} runs past the carnet's validity",
                "Annex A Art. 7",
            )
        if t.final_date < tx.date:
            raise refuse(Code.ORDER, f"{at}/transit/final_date", "the transit ends before it starts")
        seals = tx.endorsement.seals if tx.endorsement and tx.endorsement.seals else t.seals
        return Position(
            pos.item,
            Where.IN_TRANSIT,
            territory=territory,
            deadline=t.final_date,
            office_of_destination=t.office_of_destination,
            seals=seals,
            **common,
        )

    def _transit_discharge(
        self, tx: Transaction, pos: Position, territory: str, at: str, wrong: Wrong, common: _Moved
    ) -> Position:
        if pos.where != Where.IN_TRANSIT or pos.territory != territory:
            raise wrong(f"only goods in transit through {territory} can be discharged there")
        if tx.office != pos.office_of_destination:
            raise refuse(
                Code.WRONG_OFFICE,
                f"{at}/office",
                f"the transit of item {pos.item} must be discharged at {pos.office_of_destination}, "
                f"not {tx.office}",
            )
        flags: tuple[str, ...] = ()
        if pos.deadline and tx.date > pos.deadline:
            # recorded, not refused: the goods did arrive; a refusal would leave them "in transit" for good.
            # The late arrival breaches the transit's conditions, for which the guarantee answers.
            self._note(
                Code.TRANSIT_OVERDUE,
                f"{at}/date",
                f"the transit of item {pos.item} had to end by {pos.deadline}; it was discharged late, on "
                f"{tx.date}",
                "Annex A Art. 8.1",
            )
            flags = ("transit_overdue",)
        e = tx.endorsement
        if pos.seals and e is not None and e.seals_intact is not True:  # judged when customs answer
            raise refuse(
                Code.SEALS,
                f"{at}/endorsement/seals_intact",
                f"seals {', '.join(pos.seals)} were applied at the start; the discharge must confirm them intact",
            )
        return Position(pos.item, Where.EXPORTED, flags=flags, **common)

    @staticmethod
    def _where(pos: Position) -> str:
        match pos.where:
            case Where.HOME:
                return "in the issuing territory"
            case Where.PRE_EXPORTED:
                return "pre-exported, awaiting exit"
            case Where.EXPORTED:
                return "outside the issuing territory, under no admission"
            case Where.ADMITTED:
                return f"under temporary admission in {pos.territory}"
            case Where.PRE_RE_EXPORTED:
                return f"declared for re-export inland, under temporary admission in {pos.territory} until its exit"
            case Where.IN_TRANSIT:
                return f"in transit through {pos.territory}"
            case Where.CLOSED:
                return f"closed ({pos.closed_by})"
            case Where.REPLACED:
                return f"carried over to the replacement carnet {pos.successor}"

    # -- carry-over for a replacement carnet (Annex A Art. 14) ---------------------------------
    def carried_over(self, successor: Carnet) -> Ledger:
        numbers = successor.items_by_number
        missing = [n for n, p in self.positions.items() if p.where != Where.CLOSED and n not in numbers]
        if missing:
            raise refuse(
                Code.ITEM_NOT_ON_LIST,
                "/carnet/general_list",
                f"the replacement carnet must list the open item(s) {format_items(missing)}",
                "Annex A Art. 14",
            )
        new = Ledger(successor, self.office_known, activated=True)
        for n, p in self.positions.items():
            if p.where != Where.CLOSED:
                deadline = min(p.deadline, successor.valid_until) if p.deadline else None
                new.positions[n] = replace(p, deadline=successor.valid_until if p.open else deadline)
        return new


def replay(doc: CarnetDocument, office_known: OfficeCheck | None = None, *, discharge: bool = True) -> Ledger:
    """Replay a document's committed transactions; raise :class:`Refusal` naming every problem found.

    Carnet problems are all reported; replay stops at the first refused transaction because later ones
    depend on it. Prepared and submitted transactions are checked as the next step, not applied.
    """
    problems = carnet_problems(doc.carnet)
    ledger = _start(doc, office_known, problems)
    if ledger is None:
        raise Refusal(problems)
    for n, tx in enumerate(doc.transactions):
        at = pointer("transactions", n)
        if tx.state == TransactionState.COMMITTED:
            try:
                ledger.apply(tx, at)
            except Refusal as r:
                problems.extend(r.problems)
                break
        elif tx.state == TransactionState.CANCELLED:
            problems.extend(_cancellation_problems(tx, at))
        elif tx.state in (TransactionState.PREPARED, TransactionState.SUBMITTED):
            closed = closed_problem(doc.carnet, f"{at}/state")
            problems.extend([closed] if closed else ledger.check(tx, at))
    if problems:
        raise Refusal(problems)
    if discharge and doc.carnet.status == CarnetStatus.REPLACED and doc.carnet.replaced_by:
        ledger.discharge_to(doc.carnet.replaced_by)
    return ledger


def judge(doc: CarnetDocument) -> Ledger:
    """The one rule path: every entry (CLI ``validate``/``ledger``, API service, customs callback, relay
    worker, conformance, claims) builds a carnet's ledger here, with the same checks configured — the
    customs office list included (304). Raises :class:`Refusal` naming every problem found."""
    return replay(doc, office_known=offices.known)


def _start(doc: CarnetDocument, office_known: OfficeCheck | None, problems: list[Problem]) -> Ledger | None:
    if doc.predecessor is None:
        return Ledger(doc.carnet, office_known)
    old = doc.predecessor
    if doc.carnet.replaces != old.carnet.carnet_id:
        problems.append(
            Problem(
                Code.CARNET_NOT_FOUND,
                "/carnet/replaces",
                f"this carnet does not say it replaces {old.carnet.carnet_id}",
                "Annex A Art. 14",
            )
        )
        return None
    try:
        return replay(old, office_known, discharge=False).carried_over(doc.carnet)
    except Refusal as r:
        problems.extend(replace(p, pointer="/predecessor" + p.pointer) for p in r.problems)
        return None


def _cancellation_problems(tx: Transaction, at: str) -> list[Problem]:
    c = tx.cancellation
    if c is None or tx.cancellation_code is None or c.code != tx.cancellation_code:
        return [
            Problem(
                Code.CANCELLATION,
                f"{at}/cancellation/code",
                "the cancellation code does not match the one the holder was given",
            )
        ]
    return []


def _exit_problems(doc: CarnetDocument, idx: int, at: str) -> list[Problem]:
    """EU two-step: a pre-exportation (or re-export declared inland) is cancelled only before its exit; once
    the goods left, only the exit can be cancelled (with the holder's code), and then the first step."""
    tx = doc.transactions[idx]
    exit_kind = PRE_EXPORT_KINDS.get(tx.kind)
    if exit_kind is None:
        return []
    general = doc.carnet.items_by_number.keys()
    mine = set(parse_items(tx.items, general))
    for later in doc.transactions[idx + 1 :]:
        if (
            later.kind == exit_kind
            and later.state == TransactionState.COMMITTED
            and mine & set(parse_items(later.items, general))
        ):
            return [
                Problem(
                    Code.NOT_CANCELLABLE,
                    f"{at}/state",
                    f"the goods of this {tx.kind.value.replace('_', '-')} already left the EU at "
                    f"{later.office} ({later.transaction_id}): cancel that exit first, with its code",
                )
            ]
    return []


def cancel(doc: CarnetDocument, transaction_id: str, code: str, reason: str) -> CarnetDocument:
    """Roll back a committed transaction by mutual consent; refuse if later transactions rely on it."""
    from datetime import UTC, datetime

    from gateway.model import Cancellation

    idx = next((i for i, t in enumerate(doc.transactions) if t.transaction_id == transaction_id), None)
    if idx is None:
        raise refuse(
            Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id} on this carnet"
        )
    tx = doc.transactions[idx]
    at = pointer("transactions", idx)
    if tx.state != TransactionState.COMMITTED:
        raise refuse(
            Code.CANCELLATION,
            f"{at}/state",
            f"only a committed transaction can be cancelled, not a {tx.state.value} one",
        )
    if not reason.strip():
        raise refuse(Code.MISSING, "/reason", "the officer must give a reason for the cancellation")
    cancelled = tx.model_copy(
        update={
            "state": TransactionState.CANCELLED,
            "cancellation": Cancellation(code=code, reason=reason, at=datetime.now(UTC), officer="customs"),
        }
    )
    problems = _cancellation_problems(cancelled, at) or _exit_problems(doc, idx, at)
    if problems:
        raise Refusal(problems)
    candidate = replace_transaction(doc, idx, cancelled)
    try:
        replay(candidate)  # only whether later transactions depend on this one; the rest was judged on entry
    except Refusal as r:
        raise refuse(
            Code.CANCELLATION,
            f"{at}/state",
            f"later transactions depend on this one: {r.problems[0].message}",
        ) from None
    return candidate
