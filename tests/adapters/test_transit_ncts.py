"""Transit legs travel in the NCTS dialect: IE015 opens a movement, IE007 discharges it by its MRN."""

from __future__ import annotations

from conformance.simulators.testing import World
from gateway.adapters.delivery import deliver
from gateway.messages import declaration_for
from gateway.model.load import load_document
from gateway.resources import data_dir
from gateway.transport import Delivered


def test_transit_movement_over_ncts(world: World) -> None:
    doc = load_document((data_dir("examples") / "journey-no-eu-ch.json").read_bytes())
    kinds = [tx.kind.value for tx in doc.transactions]
    start, end = kinds.index("transit_start"), kinds.index("transit_discharge")

    opened = deliver(declaration_for(doc, start, "NCTS-START"), "SE")
    assert isinstance(opened, Delivered) and opened.message is not None, opened
    assert opened.message.committed and opened.message.kind.value == "transit_start"
    mrn = opened.message.endorsement.reference
    assert mrn and len(mrn) == 18, mrn  # an NCTS MRN: 2 year digits, country, 12 chars, check

    # The discharge names only the movement; the office of destination finds it in the common domain.
    txs = list(doc.transactions)
    txs[start] = txs[start].model_copy(update={"endorsement": opened.message.endorsement})
    doc = doc.model_copy(update={"transactions": tuple(txs)})
    arrival = declaration_for(doc, end, "NCTS-END")
    assert arrival.movement_reference == mrn
    discharged = deliver(arrival, "DE")
    assert isinstance(discharged, Delivered) and discharged.message is not None, discharged
    assert discharged.message.committed and discharged.message.kind.value == "transit_discharge"


def test_discharge_of_unknown_movement_is_refused(world: World) -> None:
    doc = load_document((data_dir("examples") / "journey-no-eu-ch.json").read_bytes())
    end = [tx.kind.value for tx in doc.transactions].index("transit_discharge")
    outcome = deliver(declaration_for(doc, end, "NCTS-ORPHAN"), "DE")
    # Customs cannot rebuild an arrival for a movement they never saw: refused, with the reason.
    assert not isinstance(outcome, Delivered)
    assert outcome.code == 314 and "no transit movement with MRN" in outcome.reason
