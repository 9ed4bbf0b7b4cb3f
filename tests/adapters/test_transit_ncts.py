"""Transit legs travel in the NCTS dialect (mappings/ncts, in progress): exchanged once the mapping exists."""

from __future__ import annotations

import pytest

from conformance.simulators.testing import World
from gateway.adapters.delivery import deliver
from gateway.errors import Code, Refusal
from gateway.messages import declaration_for
from gateway.model.load import load_document
from gateway.resources import data_dir
from gateway.transport import Delivered


@pytest.mark.parametrize("kind", ["transit_start", "transit_discharge"])
def test_transit_leg_over_ncts(world: World, kind: str) -> None:
    doc = load_document((data_dir("examples") / "journey-no-eu-ch.json").read_bytes())
    index = next(i for i, tx in enumerate(doc.transactions) if tx.kind.value == kind)
    d = declaration_for(doc, index, f"NCTS-{index}")
    try:
        outcome = deliver(d, d.territory)
    except Refusal as exc:
        if exc.code == Code.NOT_CONFIGURED:
            pytest.skip(f"ncts mapping not there yet: {exc}")
        raise
    assert isinstance(outcome, Delivered) and outcome.message is not None, outcome
    assert outcome.message.committed and outcome.message.kind.value == kind
