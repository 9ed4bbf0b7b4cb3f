"""The typer application every command module registers on, loaded lazily.

``eata-gateway <command>`` imports only the module of that command (see :data:`gateway.cli.COMMANDS`); the
top-level ``--help`` is drawn from that table without importing any. Whoever asks the application for
all its commands (typer building the whole CLI, ``CliRunner().invoke(app, …)`` in tests) gets every command
module imported first, as before.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import typer

SETTINGS: dict[str, Any] = {
    "name": "eata-gateway",
    "help": "eATA interoperability gateway: carnet rules, translation, signing, relay.",
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
}


class LazyTyper(typer.Typer):
    """A Typer whose command list, when read by anyone but a registering module, is complete."""

    def __init__(self, loader: Callable[[], None] | None = None, **kwargs: Any) -> None:
        self._loader = loader
        self._registering = 0
        self._commands: list[Any] = []
        self._groups: list[Any] = []
        super().__init__(**kwargs)

    @contextlib.contextmanager
    def _registration(self) -> Iterator[None]:
        self._registering += 1
        try:
            yield
        finally:
            self._registering -= 1

    def _complete(self) -> None:
        if self._loader is not None and not self._registering:
            loader, self._loader = self._loader, None
            loader()

    @property
    def registered_commands(self) -> list[Any]:
        self._complete()
        return self._commands

    @registered_commands.setter
    def registered_commands(self, value: list[Any]) -> None:
        self._commands = value

    @property
    def registered_groups(self) -> list[Any]:
        self._complete()
        return self._groups

    @registered_groups.setter
    def registered_groups(self, value: list[Any]) -> None:
        self._groups = value

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        decorator = super().command(*args, **kwargs)

        def register(f: Any) -> Any:
            with self._registration():
                return decorator(f)

        return register

    def add_typer(self, *args: Any, **kwargs: Any) -> None:
        with self._registration():
            super().add_typer(*args, **kwargs)

    def only(self, names: set[str]) -> typer.Typer:
        """A Typer with just the commands and groups registered so far under ``names``."""
        sub = typer.Typer(**SETTINGS)
        sub.registered_commands = [
            c for c in self._commands if (c.name or c.callback.__name__.replace("_", "-")) in names
        ]
        sub.registered_groups = [g for g in self._groups if g.name in names]
        sub.registered_callback = self.registered_callback
        if sub.registered_callback is None:
            sub.callback()(_group)  # a group even with one command: ``eata-gateway translate …``
        return sub


def _group() -> None:
    """No options of its own: the commands have them."""


def load_all() -> None:
    from gateway.cli import load_all as _load

    _load()


app = LazyTyper(loader=load_all, **SETTINGS)


def import_module(name: str) -> None:
    importlib.import_module(f"gateway.cli.{name}")
