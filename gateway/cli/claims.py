"""``eata-gateway claims due|check``: what the guarantee chain owes, and by when."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.claims import assemble_proof, assess, cap_claim, check_claim
from gateway.cli.app import app
from gateway.cli.carnet import read_document
from gateway.cli.output import console, emit_json, report_refusal
from gateway.errors import Code, Problem, Refusal
from gateway.model import CarnetDocument
from gateway.rules import judge

claims_app = typer.Typer(help="Claims against the guarantee chain (Annex A Art. 8-11).", no_args_is_help=True)
app.add_typer(claims_app, name="claims")

Files = Annotated[list[Path], typer.Argument(help="Carnet documents carrying claims")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
Today = Annotated[str | None, typer.Option("--today", help="Assess as of this date (ISO); default today")]


@claims_app.command("due")
def due(files: Files, today: Today = None, as_json: JsonOpt = False) -> None:
    """List every open claim with its next step and date, earliest first."""
    day = date.fromisoformat(today) if today else date.today()
    rows: list[dict[str, Any]] = []
    for f in files:
        doc = read_document(f, as_json)
        for claim in doc.claims:
            claim, _ = cap_claim(claim)  # Art. 8.2: capped, not refused
            a = assess(claim, doc.carnet, day)
            proof = assemble_proof(doc, claim)
            rows.append(
                {
                    "claim_id": claim.claim_id,
                    "carnet_id": doc.carnet.carnet_id,
                    "territory": claim.territory,
                    "next_step": a.next_step,
                    "due": a.next_date.isoformat() if a.next_date else None,
                    "cap": str(a.cap),
                    "capped_at": str(claim.capped_at) if claim.capped_at is not None else None,
                    "liability": str(a.liability),
                    "barred": a.barred,
                    "currency": claim.currency,
                    "proof_in_log": proof.complete,
                    "proof": sorted({e.transaction_id for e in proof.evidence}),
                }
            )
        rows.extend(_overdue_rows(doc, day))
    rows.sort(key=lambda r: r["due"] or "9999")
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"Claims as of {day}")
    for col in ("claim", "carnet", "territory", "next step", "due", "cap", "proof in our log"):
        table.add_column(col)
    for r in rows:
        if r["claim_id"] is None:  # a flag: overdue, no claim yet
            table.add_row("-", r["carnet_id"], r["territory"] or "", r["next_step"], r["due"] or "", "", "")
            continue
        evidence = ", ".join(r["proof"]) if r["proof_in_log"] else "not complete"
        cap = f"{r['cap']} {r['currency']}" + (" (claim capped)" if r["capped_at"] else "")
        table.add_row(
            r["claim_id"], r["carnet_id"], r["territory"], r["next_step"], r["due"] or "", cap, evidence
        )
    console.print(table)


def _overdue_rows(doc: CarnetDocument, day: date) -> list[dict[str, Any]]:
    """What may yet become a claim: transits never discharged and admissions never ended past their
    final date (flagged by the ledger; the guarantee answers for them, Annex A Art. 8.1)."""
    try:
        ledger = judge(doc)
    except Refusal:
        return []  # ``validate`` reports why; no flags can be trusted on a refused history
    rows = []
    for flag in ledger.overdue(day):
        index = int(flag.pointer.rsplit("/", 1)[-1]) if flag.pointer else None
        tx = doc.transactions[index] if index is not None else None
        deadline = tx.transit.final_date if tx and tx.transit else None
        if deadline is None and tx is not None:
            deadline = next(
                (p.deadline for p in ledger.positions.values() if p.under == tx.transaction_id), None
            )
        rows.append(
            {
                "claim_id": None,
                "carnet_id": doc.carnet.carnet_id,
                "territory": tx.territory if tx else None,
                "flag": flag.code,
                "next_step": f"{flag.message}: customs may claim ({flag.article})",
                "due": deadline.isoformat() if deadline else None,
                "transaction_id": tx.transaction_id if tx else None,
            }
        )
    return rows


@claims_app.command("check")
def check(files: Files, as_json: JsonOpt = False) -> None:
    """Refuse claims that are barred or not about the carnet's goods; above the 110 % cap they stand,
    capped (Annex A Art. 8.2)."""
    for f in files:
        doc = read_document(f, as_json)
        for n, claim in enumerate(doc.claims):
            try:
                check_claim(claim, doc.carnet)
            except Refusal as r:
                report_refusal(
                    Refusal(
                        p.__class__(p.code, f"/claims/{n}{p.pointer}", p.message, p.article)
                        for p in r.problems
                    ),
                    as_json=as_json,
                )
    if as_json:
        emit_json({"valid": True})
    else:
        console.print("[green]every claim may be made[/green]")


@claims_app.command("notify")
def notify(
    file: Annotated[Path, typer.Argument(help="Carnet document carrying the claim(s)")],
    claim_id: Annotated[str | None, typer.Option("--claim", help="Only this claim")] = None,
    amqp: Annotated[str | None, typer.Option("--amqp", help="AMQP URL (default: $EATA_AMQP_URL)")] = None,
    store: Annotated[str | None, typer.Option("--store", help="Store URL (default: $EATA_STORE_URL)")] = None,
    keys: Annotated[
        Path | None, typer.Option("--keys", help="Chain keys (default: $EATA_CHAIN_KEYS)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Customs notify a claim to the territory's guaranteeing association over the guarantee chain.

    Checked first (Art. 8.4 bar, Art. 8.2 cap): a refused claim is never relayed. The chain consumers
    (``eata-gateway chain consume``) carry it on to the issuing association and bring the proof back.
    """
    from gateway.claims.flow import ClaimFlow
    from gateway.cli.chain import open_relay

    doc = read_document(file, as_json)
    chosen = [c for c in doc.claims if claim_id in (None, c.claim_id)]
    if not chosen:
        report_refusal(
            Refusal(
                Problem(Code.MISSING, "/claims", f"no claim {claim_id or ''} in {file}".replace("  ", " "))
            ),
            as_json=as_json,
        )
    relay = open_relay(amqp, store, keys)
    sent = []
    try:
        flow = ClaimFlow(relay, {doc.carnet.carnet_id: doc})
        for n, claim in enumerate(chosen):
            try:
                row = flow.notify(claim)
            except Refusal as r:
                report_refusal(
                    Refusal(
                        p.__class__(p.code, f"/claims/{n}{p.pointer}", p.message, p.article)
                        for p in r.problems
                    ),
                    as_json=as_json,
                )
            sent.append({"claim_id": claim.claim_id, "message_id": row.message_id, "to": row.recipient})
    finally:
        relay.close()
    if as_json:
        emit_json(sent)
    else:
        for s in sent:
            console.print(f"claim {s['claim_id']} notified to {s['to']} ({s['message_id']})")
