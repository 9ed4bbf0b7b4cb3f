"""Where each item of the general list is, after replaying a carnet's committed transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Where(StrEnum):
    HOME = "home"  # in the issuing customs territory
    PRE_EXPORTED = "pre_exported"  # EU two-step export: declared inland, not yet out
    EXPORTED = "exported"  # outside the issuing territory, not under any admission
    ADMITTED = "admitted"  # under temporary admission in a foreign customs territory
    PRE_RE_EXPORTED = "pre_re_exported"  # EU two-step re-export: declared inland, still admitted until exit
    IN_TRANSIT = "in_transit"  # under a transit (blue voucher) not yet discharged
    CLOSED = "closed"  # home use, destruction, abandonment
    REPLACED = "replaced"  # carried over to the replacement carnet, which discharges this one (Art. 14.1)


@dataclass(frozen=True, slots=True)
class Position:
    item: int
    where: Where
    territory: str | None = None  # customs territory (EU counts once)
    country: str | None = None  # member state or country of the last office
    since: date | None = None
    under: str | None = None  # transaction id that put the item here
    deadline: date | None = None  # re-export / transit / re-import final date
    office_of_destination: str | None = None
    seals: tuple[str, ...] = ()
    closed_by: str | None = None
    flags: tuple[str, ...] = ()  # recorded, not refused: art_10_2, transit_overdue
    successor: str | None = None  # the replacement carnet the item moved to (Annex A Art. 14.1)

    @property
    def open(self) -> bool:
        return self.where in (Where.ADMITTED, Where.IN_TRANSIT, Where.PRE_RE_EXPORTED)
