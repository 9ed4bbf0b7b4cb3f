"""Relay commands: ``worker``, ``status`` and ``dlq list|show|replay|purge``."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from pika.exceptions import AMQPError
from rich.table import Table

from gateway import logs
from gateway.cli.app import app
from gateway.cli.output import EXIT_OK, EXIT_UNUSABLE, console, emit_json, err_console
from gateway.relay import dlq as dlq_ops
from gateway.relay.depths import queue_depths
from gateway.relay.store import Store
from gateway.relay.topology import DEFAULT_DELAYS_MS, dead_queue
from gateway.settings import MissingSetting, Settings, current, use

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_STORE = "sqlite:///eata-relay.db"
DEFAULT_DELIVER = "gateway.adapters.delivery:relay_deliver"

Amqp = Annotated[str | None, typer.Option("--amqp", help="AMQP URL (default: $EATA_AMQP_URL)")]
StoreUrl = Annotated[str | None, typer.Option("--store", help="Relay store URL (default: $EATA_STORE_URL)")]
Territory = Annotated[str, typer.Option("--territory", "-t", help="Territory code, e.g. FR")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output")]

dlq_app = typer.Typer(help="Inspect and replay a territory's dead-letter queue.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


def _amqp(url: str | None) -> str:
    return url or current().amqp_url or DEFAULT_AMQP


def _store(url: str | None) -> str:
    return url or current().store_url


def _unusable(message: str) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(EXIT_UNUSABLE)


@app.command("worker")
def worker_cmd(
    territory: Annotated[
        list[str], typer.Option("--territory", "-t", help="Territory code, e.g. FR (repeat for several)")
    ],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Delivery threads per territory")
    ] = 4,
    prefetch: Annotated[int, typer.Option(min=1, help="Unacked messages held per territory")] = 64,
    deliver: Annotated[str, typer.Option(help="Delivery callable as module:function")] = DEFAULT_DELIVER,
    delays: Annotated[str, typer.Option(help="Retry delays in ms, comma-separated")] = ",".join(
        str(d) for d in DEFAULT_DELAYS_MS
    ),
    max_attempts: Annotated[int, typer.Option(min=1)] = 4,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Split each territory's work by carnet into N sub-queues (default $EATA_PARTITIONS or 1); "
            "without --partition, one worker process per partition is started",
        ),
    ] = None,
    partition: Annotated[
        list[int] | None, typer.Option(help="Consume only this partition (repeatable; with --partitions)")
    ] = None,
    amqp: Amqp = None,
    store: StoreUrl = None,
) -> None:
    """Consume territories' work queues and deliver each message; SIGTERM finishes in-flight work, exit 0.

    Several workers of one territory may run (sharing the store): one is active, the others stand by and
    take over when it goes (single active consumer), so each carnet's transactions keep their order.
    With --partitions N a territory's carnets are spread over N sub-queues, each with its own active worker:
    N processes (cores) serve one territory, each carnet still in order."""
    import signal
    import threading

    from gateway.relay.topology import partitions_from_env
    from gateway.relay.worker import Worker, load_callable

    logs.configure(logs.choose(service=True, wanted=current().log_format), logging.WARNING)
    codes = sorted({t.strip().upper() for t in territory if t.strip()})
    settings = Settings.from_env()  # built once; deliveries in this process use it
    if deliver == DEFAULT_DELIVER:
        from gateway.adapters import registry

        try:
            settings.require(registry.get(code) for code in codes if code in registry.codes())
        except MissingSetting as exc:
            raise _unusable(f"cannot deliver: {exc}") from exc
    try:
        fn = load_callable(deliver)
        delays_ms = tuple(int(d) for d in delays.split(",") if d.strip())
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise _unusable(f"bad option: {exc}") from exc
    try:
        table = partitions_from_env(settings.partitions)
    except ValueError as exc:
        raise _unusable(str(exc)) from exc
    counts = {code: partitions or table.get(code, 1) for code in codes}
    if any(n > 1 for n in counts.values()) and not partition:
        from gateway.relay.supervise import supervise  # one process per partition

        command = [sys.executable, "-m", "gateway", "worker", *(a for c in codes for a in ("-t", c))]
        command += ["--concurrency", str(concurrency), "--prefetch", str(prefetch), "--deliver", deliver]
        command += ["--delays", delays, "--max-attempts", str(max_attempts), "--amqp", _amqp(amqp)]
        command += ["--store", _store(store)]
        children = {
            f"partition {i}": [*command, "--partitions", str(max(counts.values())), "--partition", str(i)]
            for i in range(max(counts.values()))
        }
        raise typer.Exit(supervise(children))
    mine = sorted(set(partition or [0]))
    if any(not 0 <= i < max(counts.values()) for i in mine):
        raise _unusable(f"--partition takes 0..{max(counts.values()) - 1}")
    with use(settings):
        shared = Store(_store(store))
        workers = [
            Worker(
                _amqp(amqp),
                code,
                fn,  # type: ignore[arg-type]  # loaded by name (--deliver): its signature is only known at run time
                shared,
                concurrency=concurrency,
                prefetch=prefetch,
                delays_ms=delays_ms,
                max_attempts=max_attempts,
                partitions=counts[code],
                partition=i if counts[code] > 1 else None,
            )
            for code in codes
            for i in (mine if counts[code] > 1 else [0])
            if i < counts[code]
        ]
        if len(workers) == 1:
            workers[0].install_signal_handlers()
            workers[0].run()
        else:

            def _stop_all(_sig: int, _frame: object) -> None:
                for w in workers:
                    w.stop()

            signal.signal(signal.SIGTERM, _stop_all)
            signal.signal(signal.SIGINT, _stop_all)
            threads = [threading.Thread(target=w.run, name=f"eata-worker-{w.queue}") for w in workers]
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():  # join in slices so the main thread still takes signals
                    t.join(0.5)
        for w in workers:
            name = w.territory if w.partition is None else f"{w.territory}.{w.partition}"
            err_console.print(f"worker {name} stopped: {dict(w.stats)}")
    raise typer.Exit(EXIT_OK)


@app.command("status")
def status_cmd(
    territory: Annotated[
        list[str], typer.Option("--territory", "-t", help="Territories to show (repeatable)")
    ],
    delays: Annotated[str, typer.Option(help="Retry delays in ms the workers use")] = ",".join(
        str(d) for d in DEFAULT_DELAYS_MS
    ),
    amqp: Amqp = None,
    store: StoreUrl = None,
    as_json: AsJson = False,
) -> None:
    """Queue depths and consumers per territory, and the outbox backlog."""
    delays_ms = [int(d) for d in delays.split(",") if d.strip()]
    try:
        rows = [asdict(d) for d in queue_depths(_amqp(amqp), territory, delays_ms)]
    except AMQPError as exc:
        raise _unusable(f"cannot reach the broker: {exc!r}") from exc
    backlog = Store(_store(store)).outbox_counts()
    from gateway.console.certs import WARN_DAYS, inventory

    certs = inventory(current().keys_dir)
    if as_json:
        emit_json(
            {
                "queues": rows,
                "store": backlog,
                "certificates": [
                    {"subject": c.subject, "territory": c.territory, "role": c.role, "path": c.path}
                    | {"not_after": c.not_after.isoformat(), "days_left": c.days_left, "level": c.level}
                    for c in certs
                ],
            }
        )
        return
    table = Table(title="Relay queues")
    for col in ("territory", "role", "queue", "messages", "consumers"):
        table.add_column(col)
    for r in rows:
        missing = r["messages"] is None
        table.add_row(
            str(r["territory"]),
            str(r["role"]),
            str(r["queue"]),
            "absent" if missing else str(r["messages"]),
            "" if missing else str(r["consumers"]),
        )
    console.print(table)
    console.print(
        f"outbox pending {backlog['outbox_pending']}, failed {backlog['outbox_failed']}; "
        f"carnets held {backlog['holds']}, parked messages {backlog['parked']}"
    )
    due = [c for c in certs if c.level != "ok"]
    for c in sorted(due, key=lambda c: c.days_left):
        when = f"expired {-c.days_left} days ago" if c.days_left < 0 else f"expires in {c.days_left} days"
        console.print(
            f"[red]certificate {c.level}[/red]: {c.subject} ({c.role} {c.territory or 'all'}) {when}"
        )
    if certs and not due:
        console.print(f"certificates: {len(certs)}, none expiring within {WARN_DAYS} days")


@dlq_app.command("list")
def dlq_list(territory: Territory, limit: int = 50, amqp: Amqp = None, as_json: AsJson = False) -> None:
    """Dead letters of a territory (browsed, not consumed)."""
    letters = dlq_ops.list_letters(_amqp(amqp), territory, limit)
    if as_json:
        emit_json([{k: v for k, v in vars_of(letter).items() if k != "body"} for letter in letters])
        return
    table = Table(title=f"Dead letters {territory} ({len(letters)} shown)")
    for col in ("message_id", "kind", "carnet", "code", "attempts", "reason"):
        table.add_column(col)
    for l_ in letters:
        table.add_row(l_.message_id, l_.kind, l_.carnet_id, str(l_.code or ""), str(l_.attempts), l_.reason)
    console.print(table)


@dlq_app.command("show")
def dlq_show(territory: Territory, message_id: str, amqp: Amqp = None, as_json: AsJson = False) -> None:
    """One dead letter with its headers and body."""
    letter = dlq_ops.show(_amqp(amqp), territory, message_id)
    if letter is None:
        raise _unusable(f"no dead letter {message_id} in {dead_queue(territory)}")
    data = vars_of(letter)
    data["body"] = letter.body.decode("utf-8", errors="replace")
    if as_json:
        emit_json(data)
    else:
        for k, v in data.items():
            console.print(f"[bold]{k}[/bold]: {v}")


@dlq_app.command("replay")
def dlq_replay(
    territory: Territory,
    message_id: Annotated[list[str] | None, typer.Option("--id", help="Only these message IDs")] = None,
    amqp: Amqp = None,
    as_json: AsJson = False,
) -> None:
    """Send dead letters back to the work queue (attempts reset)."""
    moved = dlq_ops.replay(_amqp(amqp), territory, set(message_id) if message_id else None)
    emit_json({"replayed": moved}) if as_json else console.print(f"replayed {moved}")


@dlq_app.command("purge")
def dlq_purge(
    territory: Territory,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
    amqp: Amqp = None,
    as_json: AsJson = False,
) -> None:
    """Delete every dead letter of a territory."""
    if not yes and not typer.confirm(f"Purge {dead_queue(territory)}?"):
        raise typer.Exit(EXIT_OK)
    n = dlq_ops.purge(_amqp(amqp), territory)
    emit_json({"purged": n}) if as_json else console.print(f"purged {n}")


def vars_of(letter: dlq_ops.DeadLetter) -> dict[str, object]:
    return {f: getattr(letter, f) for f in letter.__slots__}
