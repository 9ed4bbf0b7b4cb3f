"""Text for the built-in PDF fonts: WinAnsi-safe strings, paragraph markup and the voucher's number forms."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

import pycountry

from gateway.model import Address, Measure, Party

# Letters NFKD does not decompose; the rest of Latin Extended folds to its base letter.
_FOLD = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "Ŀ": "L",
        "ŀ": "l",
        "Ŧ": "T",
        "ŧ": "t",
        "ſ": "s",
        "Ə": "E",
        "ə": "e",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)


def _winansi(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return ch.isprintable() or ch == "\n"  # newlines become <br/> in markup()


def safe(text: str) -> str:
    """Keep what Helvetica can draw (WinAnsi: ø, æ, å, é, ü, €...); fold or replace the rest.

    The standard 14 PDF fonts have no glyphs outside WinAnsi, and embedding a font would break the
    "no external fonts" rule, so ``Ş`` becomes ``S`` and a CJK character becomes ``?`` instead of a box.
    """
    out: list[str] = []
    for ch in text.translate(_FOLD):
        if _winansi(ch):
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(_winansi(c) for c in base) else "?")
    return "".join(out)


def markup(text: str) -> str:
    """Plain text made safe for a reportlab ``Paragraph`` (which parses a small XML dialect)."""
    return escape(safe(text)).replace("\n", "<br/>")


def country(code: str) -> str:
    if code == "EU":
        return "European Union (EU)"
    entry = pycountry.countries.get(alpha_2=code)
    name = getattr(entry, "common_name", None) or getattr(entry, "name", None)
    return f"{name} ({code})" if name else code


def address(addr: Address) -> str:
    town = " ".join(p for p in (addr.postcode, addr.city) if p)
    return f"{addr.street}, {town}, {country(addr.country)}"


def party(p: Party) -> str:
    ids = ", ".join(f"{i.scheme.value} {i.value}" for i in p.identifiers)
    return f"{p.name}\n{address(p.address)}" + (f"\n{ids}" if ids else "")


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def measure(m: Measure | None) -> str:
    if m is None:
        return ""
    number = format(m.value.normalize(), "f")  # 2.600 -> 2.6, and never 1E+1
    return f"{number} {m.unit.value}"


def day(d: date | None) -> str:
    return d.isoformat() if d else ""
