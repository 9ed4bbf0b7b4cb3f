"""Command line: ``eata-gateway``. Every module in this package registers its commands on ``app``.

Cold start matters (a one-message ``translate`` is a common scripted call): :func:`main` imports only the
module of the command asked for, found in :data:`COMMANDS` (a test holds the table equal to what the modules
register), and the top-level help is drawn from the table alone.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import TYPE_CHECKING

from gateway.cli.app import SETTINGS, app

if TYPE_CHECKING:
    import typer

# command or group name -> (module in gateway.cli, or a tool's module in full, short help as --help shows it)
COMMANDS: dict[str, tuple[str, str]] = {}  # filled below, in --help order


def _commands(module: str, *entries: tuple[str, str]) -> None:
    for name, short in entries:
        COMMANDS[name] = (module, short)


_SKIP = {"app", "output"}


def _module(name: str) -> str:
    """A command module named in the table: ours by its short name, a tool's (``conformance.cli.run``) in full."""
    return name if "." in name else f"{__name__}.{name}"


def load_all() -> None:
    """Import every command module (what building the whole CLI needs)."""
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in _SKIP:
            importlib.import_module(f"{__name__}.{mod.name}")
    for module, _short in COMMANDS.values():
        importlib.import_module(_module(module))


def _help_app() -> typer.Typer:
    """The top-level CLI with a placeholder per command: its --help, without importing any command."""
    import typer

    shell = typer.Typer(**SETTINGS)
    for name, (_module, short) in COMMANDS.items():
        shell.command(name, help=short, add_help_option=False)(lambda: None)
    return shell


def cli(argv: list[str] | None = None) -> None:
    """Run the command line with only the asked-for command's module imported."""
    args = sys.argv[1:] if argv is None else argv
    name = next((a for a in args if not a.startswith("-")), None)
    entry = COMMANDS.get(name) if name is not None else None
    if name is None or entry is None:  # no command, top-level help, or an unknown name (typer's own message)
        if name is None:
            _help_app()(args=args)
        app(args=args)
        return
    importlib.import_module(_module(entry[0]))
    app.only({name})(args=args)


def main() -> None:
    try:
        cli()
    except Exception as exc:
        schema = sys.modules.get("gateway.store.schema")  # only a command that opened a database raises it
        if schema is not None and isinstance(exc, schema.SchemaBehind):
            print(exc, file=sys.stderr)  # any command on a database this release cannot use yet
            raise SystemExit(1) from None
        raise


_commands(
    "carnet",
    ("validate", "Check a carnet document against the model and the Convention's rules."),
    (
        "ledger",
        "Replay a carnet's committed transactions: where each item is, its open deadline, and its flags.",
    ),
    ("schema", "Print the JSON Schema of the eATA v1 document."),
)
_commands(
    "relay",
    (
        "worker",
        "Consume territories' work queues and deliver each message; SIGTERM finishes in-flight work, exit 0.",
    ),
    ("status", "Queue depths and consumers per territory, and the outbox backlog."),
    ("dlq", "Inspect and replay a territory's dead-letter queue."),
)
_commands(
    "serve",
    (
        "serve",
        "Run the gateway API with its outbox drainer and result consumer (settings from EATA_* variables).",
    ),
    ("parties", "Parties that may call the API (each gets an API key)."),
)
_commands(
    "conformance.cli.simulate",
    ("simulate", "Serve a simulated national customs system over HTTP until interrupted."),
)
_commands(
    "territories",
    ("territories", "List the eATA territories: transport, dialects, offices, live date, grace policy."),
)
_commands(
    "translate",
    ("translate", "Translate one transaction of FILE into the territory's national XML (XML on stdout)."),
    ("parse", "Read a national XML document into eATA JSON (a declaration or a response)."),
)
_commands(
    "xmlsec",
    ("sign", "Sign FILE with an enveloped XML signature; the signed XML goes to stdout."),
    (
        "verify",
        "Verify FILE's signature against the trust store; exit 0 if valid, 1 if refused, 2 if unusable.",
    ),
)
_commands(
    "chain",
    (
        "chain",
        "Guarantee chain relay: carnet notices and claims between associations, signed and acknowledged.",
    ),
)
_commands(
    "claims",
    ("claims", "Claims against the guarantee chain (Annex A Art. 8-11)."),
)
_commands(
    "conformance.cli.run",
    ("conformance", "Conformance suite: scenarios × territories, with reports to hand in."),
)
_commands(
    "db",
    ("db", "The database schema: its revision, and the upgrade a new release needs."),
)
_commands(
    "paper",
    ("paper", "Paper fallback documents for the grace period."),
)
