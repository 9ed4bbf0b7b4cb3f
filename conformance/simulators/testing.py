"""A whole loopback world for tests and demos: TEST PKI, simulators of all territories, the callback inbox.

Inside ``with loopback_world(tmp_path) as world:`` the environment points every adapter at
``world.simulator``, so ``deliver(declaration, "CH")`` reaches it, and REST decisions pushed to the
callback are read with ``world.inbox.wait_for(message_id)``. Keys are generated at run time into the given directory (never committed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.simulators.server import Running, serve_in_thread, start_simulator
from conformance.testpki import make_test_pki
from gateway.adapters import registry
from gateway.api.callback import Inbox, callback_app


def make_keys(directory: Path, codes: list[str] | None = None) -> dict[str, Any]:
    """TEST PKI with ``gateway`` and one ``sim-<xx>`` party per territory (plus ca/expired/untrusted)."""
    codes = codes if codes is not None else registry.codes()
    return make_test_pki(directory, ["gateway", *(f"sim-{c.lower()}" for c in codes)])


@dataclass
class World:
    keys_dir: Path
    simulator: Running
    callback: Running

    @property
    def inbox(self) -> Inbox:
        return self.callback.app.state.inbox

    def reset(self) -> None:
        self.simulator.control("POST", "reset")

    def state(self, code: str) -> dict[str, Any]:
        return self.simulator.control("GET", "state")["territories"][code]


@contextmanager
def loopback_world(directory: Path, *, faults: str = "", **sim_kw: Any) -> Iterator[World]:
    """Keys, one simulator for all territories, one callback inbox; env set for the adapters, then restored."""
    keys = directory / "keys"
    make_keys(keys)
    callback = serve_in_thread(callback_app(Inbox()))
    saved = {k: os.environ.get(k) for k in ("EATA_KEYS_DIR", "EATA_SIMULATOR_URL", "EATA_CALLBACK_URL")}
    os.environ["EATA_KEYS_DIR"] = str(keys)
    os.environ["EATA_CALLBACK_URL"] = callback.url + "/callback"
    try:
        with start_simulator(keys_dir=keys, faults=faults, **sim_kw) as simulator:
            os.environ["EATA_SIMULATOR_URL"] = simulator.url
            yield World(keys, simulator, callback)
    finally:
        callback.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def journey_declaration(
    code: str, kind: str = "importation", *, message_id: str, office: str | None = None, **changes: Any
) -> Any:
    """A declaration of the example journey (examples/journey-gb.json) made out for territory ``code``.

    The office is the territory's first listed office (or ``<XX>000001`` when none is on file).
    """
    from gateway.messages import declaration_for
    from gateway.resources import data_dir

    doc = _journey(data_dir("examples") / "journey-gb.json")
    index = next(i for i, tx in enumerate(doc.transactions) if tx.kind.value == kind)
    adapter = registry.get(code)
    if office is None:
        office = adapter.offices[0].id if adapter.offices else f"{code}000001"
    declaration = declaration_for(doc, index, message_id)
    return declaration.model_copy(update={"office": office, **changes})


_DOCS: dict[Path, Any] = {}


def _journey(path: Path) -> Any:
    from gateway.model.load import load_document

    if path not in _DOCS:
        _DOCS[path] = load_document(path.read_bytes())
    return _DOCS[path]
