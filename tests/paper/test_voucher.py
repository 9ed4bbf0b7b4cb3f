"""Paper vouchers for the grace-period fallback: right kind, right colour, the declared items, the QR code.

Rendering checks need poppler-utils (``pdftoppm``, ``pdftotext``); without it they skip and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from gateway.errors import Refusal
from gateway.model import CarnetDocument, load_document
from gateway.paper import build_voucher, qr_payload, render_voucher, voucher_filename
from gateway.paper.listing import paginate
from gateway.paper.text import safe
from tests.conftest import EXAMPLES, ROOT

JOURNEY = EXAMPLES / "journey-no-eu-ch.json"
POPPLER = shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None
needs_poppler = pytest.mark.skipif(
    not POPPLER, reason="pdftoppm/pdftotext missing: install the Debian package poppler-utils"
)

EXPORT, TRANSIT, DISCHARGE, IMPORT, RE_EXPORT, RE_IMPORT = 1, 2, 3, 4, 5, 6


@pytest.fixture(scope="module")
def journey() -> CarnetDocument:
    return load_document(JOURNEY.read_bytes())


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text in reading order, whitespace collapsed (so wrapped phrases still match)."""
    f = tmp_path / "v.pdf"
    f.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True, timeout=60)
    return " ".join(out.stdout.split())


def layout_lines(pdf: bytes, tmp_path: Path) -> list[str]:
    """Text line by line as laid out: a table row stays on one line."""
    f = tmp_path / "v.pdf"
    f.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True, timeout=60
    )
    return [" ".join(line.split()) for line in out.stdout.splitlines()]


def page_image(pdf: bytes, tmp_path: Path, page: int = 1) -> Image.Image:
    f = tmp_path / "v.pdf"
    f.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "30",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(f),
            str(tmp_path / "p"),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(tmp_path / "p.png").convert("RGB")


def dominant(img: Image.Image) -> tuple[int, int, int]:
    colours = img.getcolors(maxcolors=img.width * img.height)
    assert colours
    return max(colours)[1]


def is_yellow(c: tuple[int, int, int]) -> bool:
    r, g, b = c
    return r > 235 and g > 215 and b < 200


def is_white(c: tuple[int, int, int]) -> bool:
    return min(c) > 245


def is_blue(c: tuple[int, int, int]) -> bool:
    r, _, b = c
    return b > 230 and b - r > 20


def big_document(n: int = 120) -> CarnetDocument:
    """The journey with ``n`` items on the list and the importation declaring them all."""
    data = json.loads(JOURNEY.read_text())
    items = []
    for i in range(1, n + 1):
        items.append(
            {
                "item_number": i,
                "description": f"Lighting stand {i}, ø 35 mm, façade rig for Øresund shoot",
                "marks_and_numbers": f"Case LS-{i:03d}",
                "pieces": 2,
                "weight_or_volume": {"value": "3.500", "unit": "kg"},
                "value": "1250.50",
                "origin": "SE",
            }
        )
    data["carnet"]["general_list"] = items
    data["carnet"]["totals"] = {"pieces": 2 * n, "value": str(Decimal("1250.50") * n)}
    data["transactions"][IMPORT]["items"] = f"1-{n}"
    return load_document(json.dumps(data))


def test_qr_payload_holds_only_carnet_and_transaction_code() -> None:
    assert qr_payload("NO/2026/000123", "TC000005") == "EATA:NO/2026/000123:TC000005"


@pytest.mark.parametrize(
    ("index", "title", "colour"),
    [
        (EXPORT, "ATA CARNET — EXPORTATION VOUCHER", "yellow"),
        (TRANSIT, "ATA CARNET — TRANSIT VOUCHER", "blue"),
        (DISCHARGE, "ATA CARNET — TRANSIT VOUCHER", "blue"),
        (IMPORT, "ATA CARNET — IMPORTATION VOUCHER", "white"),
        (RE_EXPORT, "ATA CARNET — RE-EXPORTATION VOUCHER", "white"),
        (RE_IMPORT, "ATA CARNET — RE-IMPORTATION VOUCHER", "yellow"),
    ],
)
def test_kind_colour_and_qr(journey: CarnetDocument, index: int, title: str, colour: str) -> None:
    v = build_voucher(journey, index)
    assert v.pdf.startswith(b"%PDF-") and v.pdf.rstrip().endswith(b"%%EOF")
    assert (v.title, v.colour, v.pages) == (title, colour, 1)
    assert v.qr_payload == qr_payload("NO/2026/000123", journey.transactions[index].transaction_code)
    assert b"/Subtype /Image" in v.pdf  # the QR code


def test_rendering_is_deterministic(journey: CarnetDocument) -> None:
    assert render_voucher(journey, IMPORT) == render_voucher(journey, IMPORT)


@needs_poppler
@pytest.mark.parametrize(("index", "looks"), [(IMPORT, is_white), (TRANSIT, is_blue), (EXPORT, is_yellow)])
def test_page_background_has_the_voucher_colour(
    journey: CarnetDocument, tmp_path: Path, index: int, looks
) -> None:  # type: ignore[no-untyped-def]
    colour = dominant(page_image(render_voucher(journey, index), tmp_path))
    assert looks(colour), colour


@needs_poppler
def test_importation_voucher_content(journey: CarnetDocument, tmp_path: Path) -> None:
    text = pdf_text(render_voucher(journey, IMPORT, fallback_reason="CH eATA portal unavailable"), tmp_path)
    for expected in [
        "ATA CARNET — IMPORTATION VOUCHER",
        "NO/2026/000123",
        "Oslo Chamber of Commerce",
        "2027-08-31",
        "Nordlys Film AS",
        "Kirkegata 15, 0153 Oslo",
        "Ingrid Berg",
        "Professional equipment for filming a documentary (Annex B2)",
        "Road (UN/CEFACT Rec. 19 code 3)",
        "TEMPORARY IMPORTATION DECLARATION",
        "Lauterbrunnen valley, Bern",
        "CLEARANCE ON IMPORTATION",
        "Final date for re-exportation",
        "Digital cinema camera ARRI Alexa Mini LF",
        "S/N 2931-774",
        "LED lighting kit, 4 panels with stands",
        "650,000.00",
        "984,000.00 NOK",
        "TC000005",
        "Paper fallback under the grace period",
        "CH eATA portal unavailable",
    ]:
        assert expected in text, expected
    assert "TOTAL" in text and "CARRIED OVER" not in text


@needs_poppler
def test_only_declared_items_and_their_totals(journey: CarnetDocument, tmp_path: Path) -> None:
    data = json.loads(JOURNEY.read_text())
    data["transactions"][IMPORT]["items"] = "1,3"
    doc = load_document(json.dumps(data))
    text = pdf_text(render_voucher(doc, IMPORT), tmp_path)
    assert "Digital cinema camera" in text and "Carbon tripod" in text
    assert "Set of cine prime lenses" not in text and "LED lighting kit" not in text
    assert "688,000.00 NOK" in text  # 650 000 + 38 000
    assert "item No.(s) 1,3" in text


@needs_poppler
def test_transit_and_exportation_declarations(journey: CarnetDocument, tmp_path: Path) -> None:
    transit = pdf_text(render_voucher(journey, TRANSIT), tmp_path)
    assert "DECLARATION OF DESPATCH IN TRANSIT" in transit
    assert "DE004055" in transit and "NO-77120" in transit and "2026-10-12" in transit
    assert "CERTIFICATE OF DISCHARGE" in transit
    discharge = pdf_text(render_voucher(journey, DISCHARGE), tmp_path)
    assert "DE004055" in discharge  # office of destination taken from the transit start
    export = pdf_text(render_voucher(journey, EXPORT), tmp_path)
    assert "TEMPORARY EXPORTATION DECLARATION" in export
    assert "Final date for duty-free re-importation" in export


@needs_poppler
def test_return_vouchers_refer_to_the_outbound_ones(journey: CarnetDocument, tmp_path: Path) -> None:
    re_export = pdf_text(render_voucher(journey, RE_EXPORT), tmp_path)
    assert "importation voucher(s) No.(s) tx-005 (customs ref. CH001801-0005)" in re_export
    re_import = pdf_text(render_voucher(journey, RE_IMPORT), tmp_path)
    assert "exportation voucher(s) No.(s) tx-002 (customs ref. NO02011B-0002)" in re_import
    assert "have not been re-imported: none" in re_import


@needs_poppler
def test_long_list_flows_onto_continuation_sheets(tmp_path: Path) -> None:
    doc = big_document(120)
    v = build_voucher(doc, IMPORT)
    assert v.pages >= 3
    text = pdf_text(v.pdf, tmp_path)
    assert "continuation sheet" in text
    assert "CARRIED OVER" in text and "BROUGHT FORWARD" in text
    sums = [
        line for line in layout_lines(v.pdf, tmp_path) if line.startswith(("TOTAL", "CARRIED", "BROUGHT"))
    ]
    assert sums[0] == "CARRIED OVER 20 12,505.00 NOK" and sums[1] == "BROUGHT FORWARD 20 12,505.00 NOK"
    assert sums[-1] == "TOTAL 240 150,060.00 NOK"  # 120 x 2 pieces, 120 x 1 250.50
    for i in (1, 60, 120):
        assert f"Lighting stand {i}, ø 35 mm, façade rig for Øresund shoot" in text
    assert text.count("Page ") == v.pages
    assert is_white(dominant(page_image(v.pdf, tmp_path, page=v.pages)))


def test_long_list_pages_are_counted_without_poppler() -> None:
    assert build_voucher(big_document(120), IMPORT).pages >= 3


@needs_poppler
def test_non_latin1_text_is_substituted_not_dropped(tmp_path: Path) -> None:
    data = json.loads(JOURNEY.read_text())
    data["carnet"]["holder"]["name"] = "Bjørn Ærø Håkon Café Müller — Łódź 東京"
    text = pdf_text(render_voucher(load_document(json.dumps(data)), IMPORT), tmp_path)
    assert "Bjørn Ærø Håkon Café Müller — Lódz ??" in text


def test_safe_text() -> None:
    assert safe("ø æ å é ü ß € —") == "ø æ å é ü ß € —"
    assert safe("Łódź Şişli Dvořák") == "Lódz Sisli Dvorák"  # ó, á are WinAnsi: kept
    assert safe("東京\n") == "??\n"


def test_kinds_without_a_voucher_and_missing_transactions_are_refused(journey: CarnetDocument) -> None:
    with pytest.raises(Refusal) as activation:
        render_voucher(journey, 0)
    assert activation.value.problems[0].pointer == "/transactions/0/kind"
    for bad in (7, -1):
        with pytest.raises(Refusal) as missing:
            render_voucher(journey, bad)
        assert missing.value.problems[0].pointer == f"/transactions/{bad}"


def test_filename(journey: CarnetDocument) -> None:
    assert voucher_filename(journey, IMPORT) == "NO-2026-000123_tx-005_importation-voucher.pdf"
    assert voucher_filename(journey, TRANSIT) == "NO-2026-000123_tx-003_transit-voucher.pdf"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout, also when run from another directory
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_cli_writes_the_pdf(tmp_path: Path) -> None:
    out = tmp_path / "voucher.pdf"
    r = run(
        "paper",
        "voucher",
        str(JOURNEY),
        "--index",
        "4",
        "--out",
        str(out),
        "--reason",
        "portal down",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    summary = json.loads(r.stdout)
    assert summary["colour"] == "white" and summary["pages"] == 1
    assert summary["qr"] == "EATA:NO/2026/000123:TC000005"


def test_cli_default_name(tmp_path: Path) -> None:
    r = run("paper", "voucher", str(JOURNEY), "--index", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "NO-2026-000123_tx-003_transit-voucher.pdf").exists()


@pytest.mark.parametrize(("args", "code"), [(["--index", "0"], 1), (["--index", "99"], 2)])
def test_cli_refusals(tmp_path: Path, args: list[str], code: int) -> None:
    r = run("paper", "voucher", str(JOURNEY), *args, "--out", str(tmp_path / "x.pdf"))
    assert r.returncode == code
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "x.pdf").exists()


def test_cli_unreadable_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "in.json"
    bad.write_bytes(b"{not json")
    r = run("paper", "voucher", str(bad), "--index", "4", "--out", str(tmp_path / "x.pdf"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout


def test_a_full_first_page_moves_the_list_on() -> None:
    items = big_document(30).carnet.general_list
    sheets = paginate(items, "NOK", first=10, rest=700)
    assert sheets[0].items == () and sheets[0].brought is None
    assert [i for sh in sheets for i in sh.items] == list(items)
    assert sheets[1].brought is None and sheets[2].brought == (2 * len(sheets[1].items), sheets[2].brought[1])
    assert sheets[-1].last and not any(sh.last for sh in sheets[:-1])


@pytest.mark.parametrize(
    ("index", "subtitle"),
    [
        (3, "EU two-step re-export: declared at the inland office; the goods leave at the exit"),
        (4, "EU two-step re-export: exit at the border office"),
    ],
)
def test_eu_two_step_re_export_vouchers_are_white_re_exportation_vouchers(
    index: int, subtitle: str, tmp_path: Path
) -> None:
    """Issue 14, item 8: a non-EU carnet leaving the EU in two steps stamps the white re-exportation voucher
    at both offices, each saying which step it is, and refers to the importation it ends."""
    two_step = load_document((EXAMPLES / "journey-eu-two-step-re-export.json").read_bytes())
    v = build_voucher(two_step, index)
    assert (v.title, v.colour) == ("ATA CARNET — RE-EXPORTATION VOUCHER", "white")
    if POPPLER:
        text = pdf_text(v.pdf, tmp_path)
        assert subtitle in text and two_step.transactions[index].office in text
