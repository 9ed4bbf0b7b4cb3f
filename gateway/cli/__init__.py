"""Command line: ``eata-gateway``. Every module in this package registers its commands on ``app``."""

from __future__ import annotations

import importlib
import pkgutil

from gateway.cli.app import app

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name not in {"app", "output"}:
        importlib.import_module(f"{__name__}.{_mod.name}")


def main() -> None:
    app()
