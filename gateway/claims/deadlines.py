"""A claim's deadlines and limits, computed from the carnet and the claim (Annex A Art. 8-9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.errors import Code, Problem, Refusal
from gateway.items import parse_items
from gateway.model import Carnet, Claim, ClaimStatus
from gateway.rules.dates import add_months, add_years
from gateway.territories import covered

CAP = Decimal("1.10")  # Art. 8.2: at most the import duties plus 10 %
PROOF_MONTHS = 6  # Art. 9.1a: six months from the claim to furnish proof
FINAL_MONTHS = 3  # Art. 9.1c: a deposit becomes final three months after payment


@dataclass(frozen=True, slots=True)
class Assessment:
    claim_id: str
    barred_after: date  # Art. 8.4: notification must come within one year of the carnet's expiry
    cap: Decimal
    proof_due: date
    deposit_final_on: date | None
    next_step: str
    next_date: date | None
    barred: bool = False
    liability: Decimal | None = None  # what the association answers for: the sum claimed, at most the cap


def cap_of(claim: Claim) -> Decimal:
    return (claim.duties * CAP).quantize(Decimal("0.01"))


def cap_claim(claim: Claim) -> tuple[Claim, Problem | None]:
    """A claim above 110 % of the duties is accepted with the liability capped and the cap recorded
    (Annex A Art. 8.2 limits what the association pays; it does not make the claim void). The notice
    tells customs and the chain what was recorded."""
    cap = cap_of(claim)
    if claim.amount is None or claim.amount <= cap:
        return claim, None
    notice = Problem(
        Code.CLAIM_OVER_CAP,
        "/amount",
        f"{claim.amount} {claim.currency} claimed; the guaranteeing association is liable for at most {cap} "
        f"{claim.currency} (110 % of {claim.duties}): recorded capped at {cap}",
        "Annex A Art. 8.2",
    )
    return claim.model_copy(update={"capped_at": cap}), notice


def check_claim(claim: Claim, carnet: Carnet) -> None:
    """Refuse a claim customs may not make: barred, or not about this carnet's goods. A claim above the
    110 % cap is not refused: :func:`cap_claim` records it capped (Annex A Art. 8.2)."""
    problems: list[Problem] = []
    barred_after = add_years(carnet.valid_until, 1)
    if claim.carnet_id != carnet.carnet_id:
        problems.append(
            Problem(
                Code.CARNET_NOT_FOUND,
                "/carnet_id",
                f"the claim is about {claim.carnet_id}, not {carnet.carnet_id}",
            )
        )
    if claim.notified_on > barred_after:
        problems.append(
            Problem(
                Code.CLAIM_BARRED,
                "/notified_on",
                f"the carnet expired on {carnet.valid_until}; claims had to be notified by {barred_after}, "
                f"not {claim.notified_on}",
                "Annex A Art. 8.4",
            )
        )
    if not covered(claim.territory, carnet.countries_of_use):
        problems.append(
            Problem(
                Code.TERRITORY_NOT_COVERED,
                "/territory",
                f"the carnet was never valid in {claim.territory}",
                "Annex A Art. 6",
            )
        )
    try:
        parse_items(claim.items, carnet.items_by_number.keys(), at="/items")
    except Refusal as r:
        problems.extend(r.problems)
    if problems:
        raise Refusal(problems)


def assess(claim: Claim, carnet: Carnet, today: date) -> Assessment:
    """What is due next on a claim, and by when."""
    proof_due = add_months(claim.notified_on, PROOF_MONTHS)
    final_on = add_months(claim.deposit_paid_on, FINAL_MONTHS) if claim.deposit_paid_on else None
    cap = cap_of(claim)
    liability = min(claim.amount, cap) if claim.amount is not None else cap
    barred_after = add_years(carnet.valid_until, 1)
    if claim.status == ClaimStatus.BARRED or claim.notified_on > barred_after:
        step = f"barred: notified after {barred_after}, nothing is owed (Annex A Art. 8.4)"
        return Assessment(
            claim.claim_id, barred_after, cap, proof_due, None, step, None, barred=True, liability=Decimal(0)
        )
    if claim.status in (
        ClaimStatus.FINAL,
        ClaimStatus.BARRED,
        ClaimStatus.WITHDRAWN,
        ClaimStatus.PROOF_FURNISHED,
    ):
        step, when = f"closed ({claim.status.value})", None
    elif final_on is not None:
        step, when = "proof of re-exportation can still recover the deposit until it becomes final", final_on
    elif today <= proof_due:
        step, when = "guaranteeing association to furnish proof of re-exportation or discharge", proof_due
    else:
        step, when = "proof window over: deposit or provisional payment due (Art. 9.1b)", proof_due
    return Assessment(claim.claim_id, barred_after, cap, proof_due, final_on, step, when, liability=liability)
