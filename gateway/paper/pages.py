"""What every page carries: the voucher colour, the side strip naming the voucher, and the fallback footer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from gateway.paper import style as s
from gateway.paper.style import Palette
from gateway.paper.text import markup

_REASON_MAX = 200  # the footer has two lines; a longer reason belongs in the routing log, not on paper


@dataclass(frozen=True, slots=True)
class PageDecor:
    palette: Palette
    band_text: str  # e.g. "IMPORTATION"
    carnet_id: str
    transaction_code: str
    reason: str | None

    def __call__(self, canvas: Canvas, _doc: Any) -> None:
        """Drawn before the page's content, so the tint stays under the boxes."""
        canvas.saveState()
        canvas.setFillColor(self.palette.page)
        canvas.rect(0, 0, s.PAGE_W, s.PAGE_H, stroke=0, fill=1)
        canvas.setFillColor(self.palette.band)
        canvas.rect(0, 0, s.BAND_W, s.PAGE_H, stroke=0, fill=1)
        canvas.setFillColor(self.palette.ink)
        canvas.setFont(s.BOLD, 15)
        canvas.translate(s.BAND_W / 2 + 5, s.PAGE_H / 2)
        canvas.rotate(90)
        canvas.drawCentredString(0, 0, "  ".join(self.band_text))
        canvas.restoreState()
        self._footer(canvas)

    def _footer(self, canvas: Canvas) -> None:
        note = "<b>Paper fallback under the grace period</b>: the eATA declaration could not be made here."
        if self.reason:
            reason = self.reason if len(self.reason) <= _REASON_MAX else self.reason[: _REASON_MAX - 1] + "…"
            note += f" Reason: {markup(reason)}"
        para = Paragraph(note, s.SMALL)
        _, h = para.wrap(s.FRAME_W - 55 * mm, s.BOTTOM)
        para.drawOn(canvas, s.LEFT, s.BOTTOM - 3 * mm - 2 - h)
        canvas.saveState()
        canvas.setStrokeColor(self.palette.ink)
        canvas.setLineWidth(0.4)
        canvas.line(s.LEFT, s.BOTTOM - 3 * mm, s.PAGE_W - s.RIGHT, s.BOTTOM - 3 * mm)
        canvas.setFont(s.FONT, 6.6)
        canvas.drawRightString(
            s.PAGE_W - s.RIGHT,
            s.BOTTOM - 3 * mm - 9,
            f"Carnet {self.carnet_id} · transaction {self.transaction_code}",
        )
        canvas.restoreState()


class NumberedCanvas(Canvas):
    """Adds "page n of N" once the page count is known (the usual reportlab two-step)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab's camelCase name
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab's own page reset; its stubs omit private names

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(s.FONT, 6.6)
            self.drawRightString(
                s.PAGE_W - s.RIGHT, s.BOTTOM - 3 * mm - 18, f"Page {self.getPageNumber()} of {total}"
            )
            super().showPage()
        super().save()
