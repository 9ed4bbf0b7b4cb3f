"""Page geometry, colours and paragraph styles shared by the voucher's parts (built-in Helvetica only)."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm

PAGE_W, PAGE_H = A4
BAND_W = 12 * mm  # the coloured strip naming the voucher, as on the printed forms
LEFT, RIGHT, TOP, BOTTOM = BAND_W + 6 * mm, 10 * mm, 10 * mm, 18 * mm
FRAME_W = PAGE_W - LEFT - RIGHT
FRAME_H = PAGE_H - TOP - BOTTOM


@dataclass(frozen=True, slots=True)
class Palette:
    page: Color  # the voucher's colour: what a customs officer recognises at a glance
    band: Color  # a deeper shade for the side strip and table heads
    ink: Color


PALETTES: dict[str, Palette] = {
    "yellow": Palette(Color(1.0, 0.96, 0.66), Color(0.96, 0.80, 0.18), Color(0, 0, 0)),
    "white": Palette(Color(1, 1, 1), Color(0.82, 0.82, 0.82), Color(0, 0, 0)),
    "blue": Palette(Color(0.82, 0.90, 0.99), Color(0.50, 0.68, 0.90), Color(0, 0, 0)),
}

FONT, BOLD = "Helvetica", "Helvetica-Bold"

BODY = ParagraphStyle("body", fontName=FONT, fontSize=7.6, leading=9.4)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=6.6, leading=8)
LABEL = ParagraphStyle("label", parent=BODY, fontName=BOLD, fontSize=6.6, leading=8.2, spaceAfter=1)
VALUE = ParagraphStyle("value", parent=BODY, fontName=BOLD, fontSize=8.6, leading=10.4)
TITLE = ParagraphStyle("title", parent=BODY, fontName=BOLD, fontSize=15, leading=18)
SUBTITLE = ParagraphStyle("subtitle", parent=BODY, fontSize=8.6, leading=11)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=7.4, leading=9)
CELL_R = ParagraphStyle("cell_r", parent=CELL, alignment=2)
HEAD = ParagraphStyle("head", parent=CELL, fontName=BOLD, fontSize=6.6, leading=8)
HEAD_R = ParagraphStyle("head_r", parent=HEAD, alignment=2)
TOTAL = ParagraphStyle("total", parent=CELL, fontName=BOLD)
TOTAL_R = ParagraphStyle("total_r", parent=TOTAL, alignment=2)
