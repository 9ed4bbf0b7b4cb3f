"""``eata-gateway db upgrade`` and ``db current``: the database schema's version (Alembic)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from gateway import logs
from gateway.cli.app import app
from gateway.cli.output import emit_json
from gateway.settings import current as settings_in_use

db_app = typer.Typer(
    help="The database schema: its revision, and the upgrade a new release needs.", no_args_is_help=True
)
app.add_typer(db_app, name="db")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL (default EATA_DATABASE_URL; a worker's store: EATA_STORE_URL)",
        show_default=False,
    ),
]


def _err(line: str) -> None:
    typer.echo(line, err=True)  # plain lines (no wrapping): operators grep and scripts read them


def _url(url: str | None) -> str:
    return url or settings_in_use().database_url


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    from gateway.store.engine import normalise_url

    return make_url(normalise_url(url)).render_as_string(hide_password=True)


@db_app.command("current")
def current(url: UrlOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The database's schema revision and the one this release needs (exit 1 when they differ)."""
    from gateway.store.schema import state

    s = state(_url(url))
    if as_json:
        emit_json({"database": _safe(_url(url)), "current": s.current, "head": s.head, "status": s.status})
    else:
        typer.echo(f"{_safe(_url(url))}: revision {s.current or '(none)'}, this release {s.head}: {s.status}")
    raise typer.Exit(0 if s.status == "current" else 1)


@db_app.command("upgrade")
def upgrade(
    url: UrlOption = None,
    revision: Annotated[str, typer.Option("--revision", help="Target revision")] = "head",
) -> None:
    """Bring the database to this release's schema (rows kept). Take a backup first; stop nothing: the
    old release keeps running on the tables it knows until the new one starts."""
    from gateway.store.schema import SchemaBehind, state, upgrade

    logs.configure(logs.choose(service=False, wanted=settings_in_use().log_format), logging.WARNING)
    target = _url(url)
    before = state(target)
    if before.status == "unknown":
        _err(f"{_safe(target)}: revision {before.current} is not known to this release")
        raise typer.Exit(1)
    try:
        was, now = upgrade(target, revision)
    except SchemaBehind as exc:
        _err(str(exc))
        raise typer.Exit(1) from None
    if was == now:
        typer.echo(f"{_safe(target)}: already at revision {now}")
    else:
        typer.echo(f"{_safe(target)}: upgraded from {was or '(unversioned)'} to {now}")
