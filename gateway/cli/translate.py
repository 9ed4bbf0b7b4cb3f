"""``translate`` and ``parse``: a carnet transaction to its national XML, and national XML back to JSON."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.app import app
from gateway.cli.carnet import read_document
from gateway.cli.output import EXIT_UNUSABLE, emit_json, exit_for, read_input, report_refusal
from gateway.errors import Code, Refusal, refuse
from gateway.messages import declaration_for
from gateway.model import CarnetDocument, TransactionKind
from gateway.translate import from_bytes, to_xml
from gateway.xmlsafe import serialize

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable errors")]
Territory = Annotated[
    str, typer.Option("--territory", "-t", help="ISO country code of the customs territory")
]


def message_id_for(carnet_id: str, transaction_id: str) -> str:
    """Deterministic message ID: the same transaction always yields the same LRN (idempotent resends)."""
    digest = hashlib.sha256(f"{carnet_id}|{transaction_id}".encode()).hexdigest()[:18].upper()
    return f"EATA{digest}"


@app.command()
def translate(
    file: Annotated[Path, typer.Argument(help="eATA carnet document with its transactions")],
    territory: Territory,
    kind: Annotated[
        TransactionKind | None, typer.Option("--kind", help="First transaction of this kind")
    ] = None,
    index: Annotated[int | None, typer.Option("--index", help="Transaction index (0-based)")] = None,
    dialect: Annotated[str | None, typer.Option("--dialect", help="Override the territory's dialect")] = None,
    key: Annotated[Path | None, typer.Option("--sign", help="PEM private key to sign with")] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="PEM certificate of the signing key")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Translate one transaction of FILE into the territory's national XML (XML on stdout)."""
    territory = territory.upper()
    doc = read_document(file, as_json)
    try:
        idx = _pick(doc, territory, kind, index)
        message = declaration_for(
            doc, idx, message_id_for(doc.carnet.carnet_id, doc.transactions[idx].transaction_id)
        )
        root = to_xml(message, territory, dialect=dialect)
        if key is not None:
            from gateway.signing import Signer, load_signing_key

            root = Signer(load_signing_key(key, cert)).apply(root)
    except Refusal as r:
        report_refusal(r, as_json=as_json, exit_code=EXIT_UNUSABLE if r.code == Code.NOT_CONFIGURED else 1)
    sys.stdout.buffer.write(serialize(root))


def _pick(doc: CarnetDocument, territory: str, kind: TransactionKind | None, index: int | None) -> int:
    if index is not None:
        if not 0 <= index < len(doc.transactions):
            raise refuse(Code.MISSING, f"/transactions/{index}", "the carnet has no such transaction")
        return index
    for i, tx in enumerate(doc.transactions):
        if tx.territory == territory and (kind is None or tx.kind == kind):
            return i
    what = f"{kind.value} " if kind else ""
    raise refuse(Code.MISSING, "/transactions", f"the carnet has no {what}transaction in {territory}")


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(help="National XML document (declaration or customs answer)")],
    territory: Territory,
    context: Annotated[
        Path | None,
        typer.Option(
            "--context",
            help="eATA carnet document the message belongs to: fills what a lossy dialect (NCTS IE007/IE025) cannot carry",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read a national XML document into eATA JSON (a declaration or a response)."""
    data = read_input(file, as_json=as_json)
    found = _context_from(read_document(context, as_json)) if context else None
    try:
        message = from_bytes(data, territory.upper(), context=found)
    except Refusal as r:  # malformed, hostile or too large: 2; not a valid customs document: 1
        report_refusal(r, as_json=as_json, exit_code=exit_for(r))
    emit_json(message.model_dump(mode="json", exclude_none=True))


def _context_from(doc: CarnetDocument) -> Callable[[dict[str, object]], object]:
    """The transaction a document speaks of, found by what the document carries: the message ID it
    answers (the deterministic LRN of :func:`message_id_for`) or the movement (MRN) it names. A document
    naming an LRN or MRN that no transaction of this carnet has gets no context (refused by the mapping,
    314), never another transaction of the same kind."""

    def find(partial: dict[str, object]) -> object:
        kind = partial.get("kind")
        reply = partial.get("in_reply_to")
        answer = partial.get("endorsement") or partial.get("rejection") or {}
        movement = partial.get("movement_reference") or (
            answer.get("reference") if isinstance(answer, dict) and kind == "transit_discharge" else None
        )
        candidates = []
        for i, tx in enumerate(doc.transactions):
            if kind and tx.kind.value != kind:
                continue
            lrn = message_id_for(doc.carnet.carnet_id, tx.transaction_id)
            d = declaration_for(doc, i, lrn)
            if reply and reply == lrn:
                return d
            ended = tx.endorsement.reference if tx.endorsement else None
            if movement and movement in (d.movement_reference, ended):
                return d
            candidates.append(d)
        if reply or movement:
            return None
        return candidates[0] if candidates else None

    return find
