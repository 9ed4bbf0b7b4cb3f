"""A paper voucher (Convention Annex A, Appendix I) for a declaration routed to the grace-period fallback.

The holder prints it and presents it with the paper carnet: front boxes A-H on the first page, then the
general-list extract of the declared items, flowing onto continuation sheets when long.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from gateway.items import format_items
from gateway.model import CarnetDocument
from gateway.paper import style as s
from gateway.paper.context import VoucherContext, context_for, office_label
from gateway.paper.declarations import BLANK, SUBTITLES, TITLES, Box, clearance, declaration
from gateway.paper.listing import paginate, sheet_table
from gateway.paper.pages import NumberedCanvas, PageDecor
from gateway.paper.qr import qr_payload, qr_png
from gateway.paper.style import PALETTES, Palette
from gateway.paper.text import address, country, day, markup, party

_QR = 30 * mm
_GAP = 3 * mm


@dataclass(frozen=True, slots=True)
class VoucherPdf:
    pdf: bytes
    pages: int
    title: str
    colour: str
    qr_payload: str


def render_voucher(
    doc: CarnetDocument, transaction_index: int, *, fallback_reason: str | None = None
) -> bytes:
    """The PDF voucher for ``doc.transactions[transaction_index]``; refuses kinds without a paper voucher."""
    return build_voucher(doc, transaction_index, fallback_reason=fallback_reason).pdf


def build_voucher(
    doc: CarnetDocument, transaction_index: int, *, fallback_reason: str | None = None
) -> VoucherPdf:
    ctx = context_for(doc, transaction_index)
    palette = PALETTES[ctx.colour]
    title = TITLES[ctx.voucher]
    payload = qr_payload(doc.carnet.carnet_id, ctx.tx.transaction_code)
    out = io.BytesIO()
    pdf = BaseDocTemplate(
        out,
        pagesize=(s.PAGE_W, s.PAGE_H),
        leftMargin=s.LEFT,
        rightMargin=s.RIGHT,
        topMargin=s.TOP,
        bottomMargin=s.BOTTOM,
        title=title,
        author="eATA gateway",
        subject=f"Carnet {doc.carnet.carnet_id}",
        creator="eATA gateway (paper fallback)",
        invariant=1,  # same input, same bytes
    )
    frame = Frame(s.LEFT, s.BOTTOM, s.FRAME_W, s.FRAME_H, 0, 0, 0, 0, id="body")
    decor = PageDecor(
        palette, ctx.voucher.value.upper(), doc.carnet.carnet_id, ctx.tx.transaction_code, fallback_reason
    )
    pdf.addPageTemplates([PageTemplate("voucher", [frame], onPage=decor)])
    pdf.build(_story(ctx, title, payload, palette), canvasmaker=NumberedCanvas)
    return VoucherPdf(out.getvalue(), pdf.page, title, ctx.colour, payload)


def voucher_filename(doc: CarnetDocument, index: int) -> str:
    """A safe file name, e.g. ``NO-2026-000123_tx-005_importation-voucher.pdf``."""
    ctx = context_for(doc, index)
    return f"{doc.carnet.carnet_id.replace('/', '-')}_{ctx.tx.transaction_id}_{ctx.voucher.value}-voucher.pdf"


def _story(ctx: VoucherContext, title: str, payload: str, palette: Palette) -> list[Flowable]:
    carnet = ctx.doc.carnet
    front = [
        _header(ctx, title, payload),
        Spacer(0, _GAP),
        _cover_boxes(ctx, palette),
        Spacer(0, _GAP),
        _declarations(ctx, palette),
        Spacer(0, _GAP),
    ]
    heading = Paragraph(
        f"GENERAL LIST — goods declared on this voucher: item No.(s) {format_items(ctx.numbers)} "
        f"(values in {carnet.currency}; country of origin shown where it differs from the issuing country)",
        s.LABEL,
    )
    first = s.FRAME_H - _height(*front, heading)
    rest = s.FRAME_H - _height(_continuation(ctx, title), heading)
    story = list(front)
    for n, sheet in enumerate(paginate(ctx.items, carnet.currency, first, rest)):
        if n > 0:
            story += [PageBreak(), _continuation(ctx, title)]
        if sheet.items or sheet.last:
            story += [_heading_copy(heading), sheet_table(sheet, carnet.currency, palette)]
    return story


def _height(*flowables: Flowable) -> float:
    return sum(f.wrap(s.FRAME_W, s.FRAME_H)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in flowables)


def _heading_copy(p: Paragraph) -> Paragraph:
    return Paragraph(p.text, p.style)  # a flowable is drawn once; each sheet gets its own heading


def _header(ctx: VoucherContext, title: str, payload: str) -> Table:
    tx = ctx.tx
    sub = SUBTITLES.get(tx.kind)
    lines = [
        Paragraph("A.T.A. CARNET · Convention on Temporary Admission, Annex A, Appendix I", s.SMALL),
        Paragraph(markup(title), s.TITLE),
    ]
    if sub:
        lines.append(Paragraph(markup(sub), s.SUBTITLE))
    lines += [
        Paragraph(
            f"For presentation at customs office <b>{markup(office_label(tx.office))}</b>, {markup(country(tx.territory))}, "
            f"on {day(tx.date)}.",
            s.SUBTITLE,
        ),
        Paragraph(
            f"eATA transaction {markup(tx.transaction_id)} · transaction code <b>{tx.transaction_code}</b>",
            s.SUBTITLE,
        ),
    ]
    qr = [
        Image(io.BytesIO(qr_png(payload)), width=_QR, height=_QR),
        Paragraph(f"eATA code: {markup(payload)}", s.SMALL),
    ]
    table = Table([[lines, qr]], colWidths=(s.FRAME_W - _QR - 6 * mm, _QR + 6 * mm))
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
            ]
        )
    )
    return table


def _box(label: str, value: str, style: ParagraphStyle = s.BODY) -> list[Flowable]:
    return [Paragraph(label, s.LABEL), Paragraph(value, style)]


def _cover_boxes(ctx: VoucherContext, palette: Palette) -> Table:
    carnet, tx = ctx.doc.carnet, ctx.tx
    reps = (
        "<br/>".join(
            markup(
                f"{r.name}, {address(r.address)}"
                + (" (power of attorney)" if r.basis == "power_of_attorney" else "")
            )
            for r in carnet.representatives
        )
        or BLANK
    )
    mode = ctx.transport()
    transport = (
        f"{mode.name.replace('_', ' ').title()} (UN/CEFACT Rec. 19 code {mode.value})" if mode else BLANK
    )
    assoc = next((a for a in carnet.guaranteeing_associations if a.country == tx.territory), None)
    guarantee = f"{carnet.guarantee_chain}" + (f"; in {tx.territory}: {assoc.name}" if assoc else "")
    rows = [
        [
            _box("A. HOLDER AND ADDRESS", markup(party(carnet.holder))),
            _box(
                f"G. FOR ISSUING ASSOCIATION USE — {ctx.voucher.value.upper()} VOUCHER No.",
                f"eATA {markup(tx.transaction_id)}",
            ),
        ],
        [_box("B. REPRESENTED BY*", reps), _box("a) CARNET No.", markup(carnet.carnet_id), s.VALUE)],
        [
            _box("C. INTENDED USE OF GOODS", f"{markup(carnet.intended_use)} (Annex {carnet.annex.value})"),
            _box(
                "b) ISSUED BY",
                markup(f"{carnet.issuing_association.name}, {country(carnet.issuing_country)}"),
            ),
        ],
        [
            _box("D. MEANS OF TRANSPORT*", transport),
            _box("c) VALID UNTIL (year/month/day, inclusive)", day(carnet.valid_until), s.VALUE),
        ],
        [
            _box("E. PACKAGING DETAILS (number, kind, marks, etc.)*", BLANK),
            _box("GUARANTEE CHAIN", markup(guarantee)),
        ],
    ]
    return _grid(rows, palette)


def _grid(rows: Sequence[list[Any]], palette: Palette) -> Table:
    table = Table(rows, colWidths=(s.FRAME_W * 0.56, s.FRAME_W * 0.44))
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, palette.ink),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _lines(box: Box) -> list[Flowable]:
    out: list[Flowable] = [Paragraph(box.heading, s.LABEL)]
    for line in box.lines:
        caps = line.isupper()  # the certificate of discharge heading inside box H
        out.append(Paragraph(markup(line), s.LABEL if caps else s.BODY))
        out.append(Spacer(0, 2))
    return out


def _declarations(ctx: VoucherContext, palette: Palette) -> Table:
    signer = ctx.tx.declared_by or (ctx.doc.carnet.signature.signer if ctx.doc.carnet.signature else None)
    holder = [
        *_lines(declaration(ctx)),
        Spacer(0, 4),
        Paragraph(f"Place {'.' * 40}   Date (year/month/day) {day(ctx.tx.date)}", s.BODY),
        Paragraph(f"Name {markup(signer) if signer else '.' * 50}", s.BODY),
        Spacer(0, 8),
        Paragraph(f"Signature X {'.' * 60}", s.BODY),
        Paragraph("* If applicable", s.SMALL),
    ]
    customs = [Paragraph("FOR CUSTOMS USE ONLY", s.LABEL), *_lines(clearance(ctx))]
    lead = [Paragraph("I, duly authorised:", s.BODY)]
    return _grid([[[holder[0], *lead, *holder[1:]], customs]], palette)


def _continuation(ctx: VoucherContext, title: str) -> Table:
    carnet = ctx.doc.carnet
    text = (
        f"<b>{markup(title)} — continuation sheet</b> · carnet No. <b>{markup(carnet.carnet_id)}</b> · "
        f"eATA {markup(ctx.tx.transaction_id)} · code {ctx.tx.transaction_code}"
    )
    table = Table([[Paragraph(text, s.SUBTITLE)]], colWidths=(s.FRAME_W,))
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return table
