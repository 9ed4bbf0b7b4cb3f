"""Box F (the holder's declaration) and box H (customs' clearance) per voucher, worded after Annex A, Appendix I.

Values the gateway knows are filled in; what only the holder or customs can write is left as a dotted line.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.items import format_items
from gateway.model import TransactionKind
from gateway.paper.context import VoucherContext, VoucherKind, numbers_of, office_label, voucher_reference
from gateway.paper.text import day

K = TransactionKind
BLANK = "." * 60
SHORT = "." * 30
_TRUE = "confirm that the information given is true and complete."


@dataclass(frozen=True, slots=True)
class Box:
    heading: str
    lines: tuple[str, ...]  # "a) ..." points, one paragraph each


TITLES: dict[VoucherKind, str] = {
    VoucherKind.EXPORTATION: "ATA CARNET — EXPORTATION VOUCHER",
    VoucherKind.RE_IMPORTATION: "ATA CARNET — RE-IMPORTATION VOUCHER",
    VoucherKind.IMPORTATION: "ATA CARNET — IMPORTATION VOUCHER",
    VoucherKind.RE_EXPORTATION: "ATA CARNET — RE-EXPORTATION VOUCHER",
    VoucherKind.TRANSIT: "ATA CARNET — TRANSIT VOUCHER",
}

SUBTITLES: dict[TransactionKind, str] = {
    K.PRE_EXPORTATION: "EU two-step export: pre-exportation at the inland office",
    K.EXIT: "EU two-step export: exit at the border office",
    K.PRE_RE_EXPORTATION: "EU two-step re-export: declared at the inland office; the goods leave at the exit",
    K.RE_EXPORTATION_EXIT: "EU two-step re-export: exit at the border office",
    K.TRANSIT_START: "Clearance for transit at the office of departure",
    K.TRANSIT_DISCHARGE: "Certificate of discharge at the Customs Office of destination",
}


def _refs(ctx: VoucherContext, *kinds: TransactionKind) -> str:
    found = ctx.earlier(*kinds)
    return ", ".join(voucher_reference(t) for t in found) if found else BLANK


def _not_reimported(ctx: VoucherContext) -> str:
    # Items exported under the vouchers this one refers to, not yet back (this consignment included).
    exported: set[int] = set()
    for t in ctx.earlier(K.EXPORTATION, K.EXIT):
        exported.update(numbers_of(ctx.doc, t))
    back = set(ctx.numbers)
    for t in ctx.earlier(K.RE_IMPORTATION):
        back.update(numbers_of(ctx.doc, t))
    missing = exported - back
    return format_items(missing) if missing else "none"


def declaration(ctx: VoucherContext) -> Box:
    """Box F, as the holder (or representative in box B) signs it."""
    items = format_items(ctx.numbers)
    listed = (
        f"the goods enumerated in the list below and described in the General List under item No.(s) {items}"
    )
    tx = ctx.tx
    match ctx.voucher:
        case VoucherKind.EXPORTATION:
            return Box(
                "F. TEMPORARY EXPORTATION DECLARATION",
                (
                    f"a) declare that I am temporarily exporting {listed};",
                    "b) undertake to re-import the goods within the period stipulated by the Customs Office or "
                    "regularise their status in accordance with the laws and regulations of the country/Customs "
                    "territory of importation;",
                    f"c) {_TRUE}",
                ),
            )
        case VoucherKind.IMPORTATION:
            place = tx.intended_place_of_use or BLANK
            return Box(
                "F. TEMPORARY IMPORTATION DECLARATION",
                (
                    "a) declare that I am temporarily importing, in compliance with the conditions laid down in "
                    f"the laws and regulations of the country/Customs territory of importation, {listed};",
                    f"b) declare that the said goods are intended for use at: {place};",
                    "c) undertake to comply with these laws and regulations and to re-export the said goods within "
                    "the period stipulated by the Customs Office or regularise their status in accordance with the "
                    "laws and regulations of the country/Customs territory of importation;",
                    f"d) {_TRUE}",
                ),
            )
        case VoucherKind.RE_EXPORTATION:
            return Box(
                "F. RE-EXPORTATION DECLARATION",
                (
                    f"a) declare that I am re-exporting {listed}, which were temporarily imported under cover of "
                    f"importation voucher(s) No.(s) {_refs(ctx, K.IMPORTATION)} of this carnet;",
                    f"b) declare that goods produced against the following item No.(s) are not intended for "
                    f"re-exportation: {SHORT}",
                    f"c) declare that goods of the following item No.(s), not produced, are not intended for later "
                    f"re-exportation: {SHORT}",
                    f"d) in support of this declaration, present the following documents: {SHORT}",
                    f"e) {_TRUE}",
                ),
            )
        case VoucherKind.RE_IMPORTATION:
            processed = "none" if tx.not_processed_abroad else SHORT
            return Box(
                "F. RE-IMPORTATION DECLARATION",
                (
                    f"a) declare that {listed} were temporarily exported under cover of exportation voucher(s) "
                    f"No.(s) {_refs(ctx, K.EXPORTATION, K.EXIT)} of this carnet, and request duty-free "
                    "re-importation of the said goods;",
                    "b) declare that the said goods have NOT undergone any process abroad, except for those "
                    f"described under item No.(s): {processed};",
                    f"c) declare that goods of the following item No.(s) have not been re-imported: "
                    f"{_not_reimported(ctx)};",
                    f"d) {_TRUE}",
                ),
            )
        case VoucherKind.TRANSIT:
            transit = ctx.transit()
            dest = office_label(transit.office_of_destination) if transit else BLANK
            by = f" (by {day(transit.final_date)})" if transit else ""
            seals = f" ({', '.join(transit.seals)})" if transit and transit.seals else " (if any)"
            return Box(
                "F. DECLARATION OF DESPATCH IN TRANSIT",
                (
                    f"a) declare that I am despatching to the Customs Office at {dest}, in compliance with the "
                    "conditions laid down in the laws and regulations of the country/Customs territory of transit, "
                    f"{listed};",
                    "b) undertake to comply with the laws and regulations of the country/Customs territory of "
                    f"transit and to produce these goods with seals{seals} intact, and this carnet, to the Customs "
                    f"Office of destination within the period stipulated by the Customs{by};",
                    f"c) {_TRUE}",
                ),
            )
    raise AssertionError(ctx.voucher)  # pragma: no cover - the match is exhaustive


_AT = (
    f"At customs office {SHORT}  Place {SHORT}",
    "Date (year/month/day) ........ / .... / ....    Signature and stamp ..............................",
)


def clearance(ctx: VoucherContext) -> Box:
    """Box H, for customs use only: left blank for the officer, with the lines this voucher needs."""
    match ctx.voucher:
        case VoucherKind.EXPORTATION:
            lines: tuple[str, ...] = (
                "a) The goods referred to in the above declaration have been exported.",
                "b) Final date for duty-free re-importation (year/month/day): ........ / .... / ....",
                f"c) This voucher must be forwarded to the Customs Office at: {SHORT}",
                f"d) Other remarks: {BLANK}",
            )
            heading = "H. CLEARANCE ON EXPORTATION"
        case VoucherKind.IMPORTATION:
            lines = (
                "a) The goods referred to in the above declaration have been temporarily imported.",
                "b) Final date for re-exportation/production to Customs (year/month/day): ........ / .... / ....",
                f"c) Registered under reference No.: {SHORT}",
                f"d) Other remarks: {BLANK}",
            )
            heading = "H. CLEARANCE ON IMPORTATION"
        case VoucherKind.RE_EXPORTATION:
            lines = (
                "a) The goods referred to in paragraph F a) of the holder's declaration have been re-exported.",
                f"b) Action taken in respect of goods produced but not re-exported: {SHORT}",
                f"c) Action taken in respect of goods NOT produced and NOT intended for later re-exportation: {SHORT}",
                f"d) Registered under reference No.: {SHORT}",
                f"e) This voucher must be forwarded to the Customs Office at: {SHORT}",
                f"f) Other remarks: {BLANK}",
            )
            heading = "H. CLEARANCE ON RE-EXPORTATION"
        case VoucherKind.RE_IMPORTATION:
            lines = (
                "a) The goods referred to in paragraph F a) and b) of the holder's declaration have been "
                "re-imported.",
                f"b) This voucher must be forwarded to the Customs Office at: {SHORT}",
                f"c) Other remarks: {BLANK}",
            )
            heading = "H. CLEARANCE ON RE-IMPORTATION"
        case VoucherKind.TRANSIT:
            return Box(
                "H. CLEARANCE FOR TRANSIT",
                (
                    f"a) The goods referred to in the above declaration have been cleared for transit to the "
                    f"Customs Office at: {SHORT}",
                    "b) Final date for re-exportation/production to Customs (year/month/day): ........ / .... / ....",
                    f"c) Registered under reference No.: {SHORT}",
                    f"d) Customs seals applied: {SHORT}",
                    f"e) This voucher must be forwarded to the Customs Office at: {SHORT}",
                    *_AT,
                    "CERTIFICATE OF DISCHARGE BY THE CUSTOMS OFFICE OF DESTINATION",
                    "f) The goods referred to in the above declaration have been re-exported/produced.",
                    f"g) Other remarks: {BLANK}",
                    *_AT,
                ),
            )
    return Box(heading, (*lines, *_AT))
