"""Every territory's adapter exchanges an importation and a re-exportation with its simulator over HTTP."""

from __future__ import annotations

import pytest

from conformance.simulators.customs import add_months
from conformance.simulators.testing import World, journey_declaration
from gateway.adapters import registry
from gateway.adapters.delivery import deliver
from gateway.messages import Response
from gateway.territories import EATA_COUNTRIES
from gateway.transport import Delivered

CODES = sorted(EATA_COUNTRIES)


def _answer(world: World, code: str, outcome: object, message_id: str) -> Response:
    assert isinstance(outcome, Delivered), outcome
    if registry.get(code).transport == "rest":
        assert outcome.response is None and outcome.ack_id  # acknowledged; decision pushed to the callback
        answer = world.inbox.wait_for(message_id, timeout=5)
        assert answer is not None, f"{code}: no decision arrived at the callback"
        return answer
    assert outcome.message is not None
    return outcome.message


@pytest.mark.parametrize("code", CODES)
def test_importation_and_re_exportation(world: World, code: str) -> None:
    imp = journey_declaration(code, "importation", message_id=f"{code}-IMP-1")
    world.inbox.expect(imp)  # pushed answers name only the LRN: the callback matches them to what was sent
    answer = _answer(world, code, deliver(imp, code), imp.message_id)
    assert answer.committed, answer.rejection
    assert answer.in_reply_to == imp.message_id and answer.carnet_id == imp.carnet_id
    e = answer.endorsement
    assert e is not None and e.office == imp.office and e.reference.startswith(f"{imp.date:%y}{code}")
    assert e.final_date == min(add_months(imp.date, 12), imp.valid_until)

    rex = journey_declaration(code, "re_exportation", message_id=f"{code}-REX-1")
    world.inbox.expect(rex)
    answer = _answer(world, code, deliver(rex, code), rex.message_id)
    assert answer.committed, answer.rejection
    assert answer.kind.value == "re_exportation" and answer.endorsement.final_date is None  # type: ignore[union-attr]

    effects = world.state(code)["effects"]
    assert effects[imp.message_id] == 1 and effects[rex.message_id] == 1
