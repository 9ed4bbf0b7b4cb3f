"""Rules about the carnet document itself, before any customs transaction (Convention Annex A)."""

from __future__ import annotations

from datetime import timedelta

from gateway.errors import Code, Problem, pointer
from gateway.model import Activity, Carnet, CarnetStatus, UseCategory
from gateway.rules.dates import add_years
from gateway.territories import EU, EU_MEMBERS

AMENDMENT_WINDOW = timedelta(days=30)  # eATA practice: amendments within 30 days of issue


# Annex A Art. 2.4: goods for processing or repair do not travel on a carnet; what a category still allows
NOT_ON_A_CARNET = frozenset({Activity.PROCESSING, Activity.REPAIR, Activity.MANUFACTURE})
CATEGORY_ALLOWS: dict[UseCategory, tuple[frozenset[Activity], str]] = {
    # the parts are for repairing the professional equipment under temporary admission
    UseCategory.B2_SPARE_PARTS: (frozenset({Activity.REPAIR}), "Annex B2 Art. 2.2"),
    # equipment to repair other machines: the goods themselves are not repaired
    UseCategory.B2_SERVICING: (frozenset({Activity.REPAIR}), "Annex B2 Appendix III"),
    # products incidentally obtained from demonstrating machines at the event
    UseCategory.B1_DISPLAY: (frozenset({Activity.MANUFACTURE}), "Annex B1 Art. 7"),
}


def use_problems(carnet: Carnet) -> list[Problem]:
    """Box C as data: the category must belong to the carnet's annex, and processing, repair or manufacture
    is refused at issue (Annex A Art. 2.4) unless the category allows it."""
    use = carnet.use
    if use is None:
        return []
    out = []
    if use.category.annex != carnet.annex.value:
        out.append(
            Problem(
                Code.INTENDED_USE,
                "/carnet/use/category",
                f"{use.category.value} goods are not covered by Annex {carnet.annex.value}, "
                "under which the carnet is issued",
                "Annex A Appendix I",
            )
        )
    allowed = CATEGORY_ALLOWS.get(use.category, (frozenset(), ""))[0]
    for n, activity in enumerate(use.activities):
        if activity in NOT_ON_A_CARNET and activity not in allowed:
            out.append(
                Problem(
                    Code.INTENDED_USE,
                    pointer("carnet", "use", "activities", n),
                    f"goods for {activity.value} cannot travel on a carnet ({use.category.value} does not "
                    "allow it)",
                    "Annex A Art. 2.4",
                )
            )
    return out


def carnet_problems(carnet: Carnet) -> list[Problem]:
    """Every problem with the carnet's own content; empty when it is sound."""
    out: list[Problem] = use_problems(carnet)
    at = "/carnet"
    if carnet.valid_until < carnet.issue_date:
        out.append(Problem(Code.ORDER, f"{at}/valid_until", "the carnet expires before it was issued"))
    elif carnet.valid_until > add_years(carnet.issue_date, 1):
        out.append(
            Problem(
                Code.VALIDITY_TOO_LONG,
                f"{at}/valid_until",
                f"a carnet issued on {carnet.issue_date} may be valid until "
                f"{add_years(carnet.issue_date, 1)} at the latest, not {carnet.valid_until}",
                "Annex A Art. 5.1",
            )
        )
    pieces = sum(i.pieces for i in carnet.general_list)
    value = sum((i.value for i in carnet.general_list), start=carnet.totals.value * 0)
    if pieces != carnet.totals.pieces:
        out.append(
            Problem(
                Code.TOTALS,
                f"{at}/totals/pieces",
                f"the general list has {pieces} pieces but the total says {carnet.totals.pieces}",
                "Annex A Appendix I",
            )
        )
    if value != carnet.totals.value:
        out.append(
            Problem(
                Code.TOTALS,
                f"{at}/totals/value",
                f"the general list is worth {value} {carnet.currency} but the total says "
                f"{carnet.totals.value}",
                "Annex A Appendix I",
            )
        )
    guaranteed = {a.country for a in carnet.guaranteeing_associations}
    for n, country in enumerate(carnet.countries_of_use):
        ok = (guaranteed & EU_MEMBERS or EU in guaranteed) if country == EU else country in guaranteed
        if not ok:
            out.append(
                Problem(
                    Code.MISSING,
                    pointer("carnet", "countries_of_use", n),
                    f"no guaranteeing association is named for {country}, where the carnet may be used",
                    "Annex A Art. 6",
                )
            )
    for n, amendment in enumerate(carnet.amendments):
        here = pointer("carnet", "amendments", n)
        if amendment.amended_on < carnet.issue_date:
            out.append(Problem(Code.ORDER, f"{here}/amended_on", "the amendment predates the carnet's issue"))
        elif amendment.amended_on - carnet.issue_date > AMENDMENT_WINDOW:
            out.append(
                Problem(
                    Code.AMENDMENT_WINDOW,
                    f"{here}/amended_on",
                    f"the carnet may be amended within 30 days of issue ({carnet.issue_date}), "
                    f"not on {amendment.amended_on}",
                    "Annex A Art. 5.2",
                )
            )
        for m, change in enumerate(amendment.changes):
            if change.op == "add" and change.path.startswith("/general_list"):
                out.append(
                    Problem(
                        Code.ITEM_ADDED,
                        f"{here}/changes/{m}",
                        "no item may be added to the general list once the carnet is issued",
                        "Annex A Art. 5.3",
                    )
                )
    if carnet.status == CarnetStatus.DRAFT and carnet.signature is not None:
        out.append(
            Problem(Code.ORDER, f"{at}/signature", "a draft carnet cannot be signed before it is issued")
        )
    return out


def closed_problem(carnet: Carnet, at: str = "/carnet/status") -> Problem | None:
    """A returned, closed or replaced carnet takes no new voucher (a replacement's successor does)."""
    if carnet.status not in (CarnetStatus.CLOSED, CarnetStatus.REPLACED):
        return None
    successor = " — use the replacement carnet" if carnet.status == CarnetStatus.REPLACED else ""
    return Problem(
        Code.CARNET_CLOSED,
        at,
        f"this carnet is {carnet.status.value}: no voucher can be used on it any more{successor}",
        "Annex A Art. 14" if successor else None,
    )


def signature_valid_on(carnet: Carnet) -> bool:
    """An amendment voids the holder's signature (eATA practice): only a later signature counts."""
    if carnet.signature is None:
        return False
    last = max((a.amended_on for a in carnet.amendments), default=None)
    return last is None or carnet.signature.signed_at.date() >= last
