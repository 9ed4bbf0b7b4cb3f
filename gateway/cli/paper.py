"""``eata-gateway paper voucher``: print the paper voucher for a declaration routed to the grace fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.app import app
from gateway.cli.carnet import read_document
from gateway.cli.output import EXIT_REFUSED, EXIT_UNUSABLE, console, emit_json, report_refusal
from gateway.errors import Code, Refusal, refuse
from gateway.paper import build_voucher, voucher_filename

paper_app = typer.Typer(help="Paper fallback documents for the grace period.", no_args_is_help=True)
app.add_typer(paper_app, name="paper")

FileArg = Annotated[Path, typer.Argument(help="eATA v1 JSON file (a carnet with its transactions)")]
IndexOpt = Annotated[int, typer.Option("--index", help="Transaction to print, 0-based as in /transactions/N")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="PDF path; default: a name from carnet and transaction")
]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why eATA could not be used (printed in the footer)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


@paper_app.command("voucher")
def voucher(
    file: FileArg, index: IndexOpt, out: OutOpt = None, reason: ReasonOpt = None, as_json: JsonOpt = False
) -> None:
    """Write the paper voucher (PDF, in the voucher's colour) for one transaction.

    Exit 0 written, 1 refused (a kind without a paper voucher, an item range off the list), 2 unusable input
    (unreadable file, no such transaction, output not writable).
    """
    doc = read_document(file, as_json)
    try:
        built = build_voucher(doc, index, fallback_reason=reason)
        target = out or Path(voucher_filename(doc, index))
    except Refusal as r:
        # No such transaction is a wrong request, not a judgement on the document.
        unusable = r.problems[0].pointer == f"/transactions/{index}"
        report_refusal(r, as_json=as_json, exit_code=EXIT_UNUSABLE if unusable else EXIT_REFUSED)
    try:
        target.write_bytes(built.pdf)
    except OSError as exc:
        report_refusal(
            refuse(Code.BAD_VALUE, str(target), f"cannot write the PDF there: {exc.strerror}"),
            as_json=as_json,
            exit_code=EXIT_UNUSABLE,
        )
    summary = {
        "path": str(target),
        "title": built.title,
        "colour": built.colour,
        "pages": built.pages,
        "qr": built.qr_payload,
    }
    if as_json:
        emit_json(summary)
    else:
        console.print(f"wrote {target}: {built.title}, {built.colour}, {built.pages} page(s)")
