"""Shared CLI output: refusals as a rich table or JSON, and the exit codes (0 ok, 1 refused, 2 unusable)."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from gateway.errors import Refusal

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2

console = Console()
err_console = Console(stderr=True)


def emit_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def report_refusal(refusal: Refusal, *, as_json: bool, exit_code: int = EXIT_REFUSED) -> NoReturn:
    if as_json:
        emit_json(refusal.as_dict())
    else:
        table = Table(title="Refused", show_lines=False)
        for col in ("code", "where", "why", "basis"):
            table.add_column(col)
        for p in refusal.problems:
            table.add_row(str(p.code), p.pointer or "-", p.message, p.article or "")
        err_console.print(table)
    raise typer.Exit(exit_code)
