"""The general-list extract: declared items only, cut into page-sized sheets with carried-over totals.

We paginate ourselves instead of letting a reportlab table split, because the paper form closes every
sheet with "TOTAL or CARRIED OVER" and opens the next with what was brought forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from gateway.model import GoodsItem
from gateway.paper import style as s
from gateway.paper.style import Palette
from gateway.paper.text import markup, measure, money

# Columns 1-7 of the general list; 7 stays empty for customs' identification marks.
_WIDTHS = (28, 196, 38, 54, 74, 40, 0)
WIDTHS = (*_WIDTHS[:-1], s.FRAME_W - sum(_WIDTHS))
_SLACK = 6  # points kept free per sheet so rounding never pushes a row past the frame


@dataclass(frozen=True, slots=True)
class Sheet:
    items: tuple[GoodsItem, ...]
    brought: tuple[int, Decimal] | None  # pieces and value from earlier sheets
    last: bool


def header_row(currency: str) -> list[Flowable]:
    return [
        Paragraph("1<br/>Item No.", s.HEAD),
        Paragraph("2<br/>Trade description of goods and marks and numbers", s.HEAD),
        Paragraph("3<br/>Pieces", s.HEAD_R),
        Paragraph("4<br/>Weight or volume", s.HEAD_R),
        Paragraph(f"5<br/>Value ({currency})", s.HEAD_R),
        Paragraph("6<br/>Origin", s.HEAD),
        Paragraph("7<br/>For customs use", s.HEAD),
    ]


def item_row(item: GoodsItem) -> list[Flowable]:
    text = markup(item.description)
    if item.marks_and_numbers:
        text += f"<br/><font size=6.6>Marks and numbers: {markup(item.marks_and_numbers)}</font>"
    return [
        Paragraph(str(item.item_number), s.CELL),
        Paragraph(text, s.CELL),
        Paragraph(str(item.pieces), s.CELL_R),
        Paragraph(markup(measure(item.weight_or_volume)), s.CELL_R),
        Paragraph(money(item.value), s.CELL_R),
        Paragraph(item.origin or "", s.CELL),
        Paragraph("", s.CELL),
    ]


def sum_row(label: str, pieces: int, value: Decimal, currency: str) -> list[Flowable]:
    return [
        Paragraph("", s.TOTAL),
        Paragraph(label, s.TOTAL),
        Paragraph(str(pieces), s.TOTAL_R),
        Paragraph("", s.TOTAL),
        Paragraph(f"{money(value)} {currency}", s.TOTAL_R),
        Paragraph("", s.TOTAL),
        Paragraph("", s.TOTAL),
    ]


def _style(palette: Palette, rows: int, brought: bool) -> TableStyle:
    cmds: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, palette.ink),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BACKGROUND", (0, 0), (-1, 0), palette.band),
        ("BACKGROUND", (0, rows - 1), (-1, rows - 1), palette.band),
    ]
    if brought:
        cmds.append(("BACKGROUND", (0, 1), (-1, 1), palette.band))
    return TableStyle(cmds)


def _height(row: list[Flowable]) -> float:
    t = Table([row], colWidths=WIDTHS)
    t.setStyle(
        TableStyle(
            [
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return t.wrap(s.FRAME_W, s.FRAME_H)[1]


def paginate(items: Sequence[GoodsItem], currency: str, first: float, rest: float) -> list[Sheet]:
    """Cut ``items`` into sheets: ``first`` points are free on the first sheet, ``rest`` on each next one.

    A first sheet too small for even one item stays empty (the list then starts on the next page).
    """
    fixed = _height(header_row(currency)) + 2 * _height(sum_row("CARRIED OVER", 1, Decimal(0), currency))
    sheets: list[Sheet] = []
    room, start, used = first - fixed - _SLACK, 0, 0.0
    pieces, value = 0, Decimal(0)

    def close(end: int, last: bool) -> None:
        brought = (pieces, value) if start > 0 else None
        sheets.append(Sheet(tuple(items[start:end]), brought, last))

    for i, item in enumerate(items):
        h = _height(item_row(item))
        if used + h > room and (i > start or not sheets):
            close(i, False)  # on the first sheet with i == start: no room at all, the list moves on
            for done in items[start:i]:
                pieces, value = pieces + done.pieces, value + done.value
            start, used, room = i, 0.0, rest - fixed - _SLACK
        used += h
    close(len(items), True)
    return sheets


def sheet_table(sheet: Sheet, currency: str, palette: Palette) -> Table:
    rows = [header_row(currency)]
    pieces, value = sheet.brought or (0, Decimal(0))
    if sheet.brought is not None:
        rows.append(sum_row("BROUGHT FORWARD", pieces, value, currency))
    rows.extend(item_row(i) for i in sheet.items)
    pieces += sum(i.pieces for i in sheet.items)
    value += sum((i.value for i in sheet.items), Decimal(0))
    rows.append(sum_row("TOTAL" if sheet.last else "CARRIED OVER", pieces, value, currency))
    table = Table(rows, colWidths=WIDTHS)
    table.setStyle(_style(palette, len(rows), sheet.brought is not None))
    return table
