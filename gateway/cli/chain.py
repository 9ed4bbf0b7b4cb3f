"""``eata-gateway chain send|pending|resend|consume|refused``: the guarantee chain relay for associations.

Options fall back to the environment: ``$EATA_AMQP_URL``, ``$EATA_STORE_URL`` (the relay store, which also
holds the chain's tables) and ``$EATA_CHAIN_KEYS`` (``<party>.key.pem``/``.cert.pem`` per party and the
chain's ``ca.cert.pem``).
"""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway import logs
from gateway.cli.app import app
from gateway.cli.carnet import read_document
from gateway.cli.output import EXIT_OK, EXIT_UNUSABLE, console, emit_json, err_console, report_refusal
from gateway.errors import Refusal
from gateway.settings import current

chain_app = typer.Typer(
    help="Guarantee chain relay: carnet notices and claims between associations, signed and acknowledged.",
    no_args_is_help=True,
)
app.add_typer(chain_app, name="chain")

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_STORE = "sqlite:///eata-relay.db"

Amqp = Annotated[str | None, typer.Option("--amqp", help="AMQP URL (default: $EATA_AMQP_URL)")]
StoreUrl = Annotated[str | None, typer.Option("--store", help="Store URL (default: $EATA_STORE_URL)")]
Keys = Annotated[Path | None, typer.Option("--keys", help="Chain keys directory (default: $EATA_CHAIN_KEYS)")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
KINDS = ["carnet_issued", "carnet_amended", "carnet_returned", "carnet_replaced", "carnet_closed"]


def open_relay(amqp: str | None, store: str | None, keys: Path | None) -> Any:
    from gateway.chain.relay import ChainRelay

    settings = current()
    keys_dir = keys or settings.chain_keys
    if not keys_dir:
        err_console.print("[red]no chain keys: give --keys or set EATA_CHAIN_KEYS[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    return ChainRelay(
        amqp or settings.amqp_url or DEFAULT_AMQP,
        store or settings.store_url,
        keys_dir,
    )


def _row(r: Any) -> dict[str, Any]:
    return r.as_dict()


@chain_app.command("send")
def send_cmd(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}")],
    carnet: Annotated[Path, typer.Option("--carnet", help="The carnet document (eATA JSON)")],
    to: Annotated[str, typer.Option("--to", help="Recipient party, e.g. WCF or CH-SCF")],
    sender: Annotated[
        str | None, typer.Option("--from", help="Sending party (default: the carnet's issuing association)")
    ] = None,
    replacement: Annotated[
        str | None, typer.Option(help="carnet_replaced: the replacement carnet's number (Annex A Art. 14)")
    ] = None,
    amqp: Amqp = None,
    store: StoreUrl = None,
    keys: Keys = None,
    as_json: AsJson = False,
) -> None:
    """Sign and relay a carnet life-cycle notice; it stays pending until the recipient acknowledges it."""
    from gateway.chain.message import ChainKind
    from gateway.claims.flow import association_party

    if kind not in KINDS:
        err_console.print(f"[red]unknown kind {kind!r}; use one of {', '.join(KINDS)}[/red]")
        raise typer.Exit(EXIT_UNUSABLE)
    doc = read_document(carnet, as_json)
    payload: dict[str, Any] = {"carnet": json.loads(doc.carnet.model_dump_json(exclude_none=True))}
    if replacement:
        payload["replacement"] = replacement
    relay = open_relay(amqp, store, keys)
    try:
        row = relay.send(
            ChainKind(kind),
            doc.carnet.carnet_id,
            sender or association_party(doc.carnet.issuing_association),
            to,
            payload,
        )
    except Refusal as r:
        report_refusal(r, as_json=as_json)
    finally:
        relay.close()
    if as_json:
        emit_json(_row(row))
    else:
        console.print(f"sent {row.kind} {row.message_id} {row.sender} → {row.recipient}; awaiting ack")


@chain_app.command("pending")
def pending_cmd(
    older_than: Annotated[
        float, typer.Option(help="Only messages sent at least this many seconds ago")
    ] = 0.0,
    sender: Annotated[str | None, typer.Option("--from", help="Only messages from this party")] = None,
    resend: Annotated[
        bool, typer.Option(help="Send them again (same MessageID: the receiver dedupes)")
    ] = False,
    amqp: Amqp = None,
    store: StoreUrl = None,
    keys: Keys = None,
    as_json: AsJson = False,
) -> None:
    """Chain messages sent but not yet acknowledged."""
    relay = open_relay(amqp, store, keys)
    try:
        rows = relay.pending(older_than, sender)
        if resend:
            for r in rows:
                relay.resend(r.message_id)
    finally:
        relay.close()
    if as_json:
        emit_json([_row(r) for r in rows])
        return
    table = Table(title=f"Unacknowledged chain messages ({len(rows)})")
    for col in ("message", "kind", "carnet", "from", "to", "sent", "attempts"):
        table.add_column(col)
    for r in rows:
        sent = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.sent_at))
        table.add_row(r.message_id, r.kind, r.carnet_id, r.sender, r.recipient, sent, str(r.attempts))
    console.print(table)


@chain_app.command("refused")
def refused_cmd(
    party: Annotated[str | None, typer.Option("--party", help="Only refusals by this party")] = None,
    amqp: Amqp = None,
    store: StoreUrl = None,
    keys: Keys = None,
    as_json: AsJson = False,
) -> None:
    """Messages a party refused before handling them (unsigned, tampered, hostile, not from their signer)."""
    relay = open_relay(amqp, store, keys)
    try:
        rows = relay.chain.refusals(party)
    finally:
        relay.close()
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Refused chain messages")
    for col in ("party", "message", "code", "where", "why"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["recipient"], r["message_id"] or "-", str(r["code"]), r["pointer"], r["reason"])
    console.print(table)


@chain_app.command("consume")
def consume_cmd(
    party: Annotated[
        str, typer.Option("--party", "-p", help="The party whose queue to consume, e.g. CH-SCF")
    ],
    documents: Annotated[
        list[Path] | None,
        typer.Option("--documents", "-d", help="Carnet documents forming the endorsement log (repeatable)"),
    ] = None,
    amqp: Amqp = None,
    store: StoreUrl = None,
    keys: Keys = None,
) -> None:
    """Verify, handle and acknowledge a party's chain messages (life-cycle notices and claims) until SIGTERM."""
    from gateway.claims.flow import ClaimFlow

    logs.configure(logs.choose(service=True, wanted=current().log_format), logging.WARNING)
    docs = {d.carnet.carnet_id: d for d in (read_document(f, False) for f in documents or [])}
    relay = open_relay(amqp, store, keys)
    consumer = relay.consumer(party, ClaimFlow(relay, docs).handler)

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        consumer.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        consumer.run()
    finally:
        relay.close()
    err_console.print(f"chain consumer {party} stopped: {consumer.stats}")
    raise typer.Exit(EXIT_OK)
