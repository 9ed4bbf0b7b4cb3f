"""The delivery outcomes as the relay worker sees them, and the ready-made relay delivery callable."""

from __future__ import annotations

from conformance.simulators.testing import World, journey_declaration
from gateway.adapters.delivery import relay_deliver, to_relay
from gateway.relay.envelope import Envelope
from gateway.relay.outcome import Done, Final, Retry
from gateway.transport import Delivered, FinalFailure, RetryableFailure


def test_outcomes_map_to_relay_outcomes() -> None:
    assert to_relay(Delivered(b"<R/>", "A")) == Done(result_event=b"<R/>")
    assert to_relay(RetryableFailure(504, "slow")) == Retry("slow", 504)
    assert to_relay(FinalFailure(121, "forged")) == Final(121, "forged")


def test_relay_deliver_takes_declaration_json(world: World) -> None:
    d = journey_declaration("EE", message_id="RELAY-EE-1")
    env = Envelope(
        kind="importation",
        territory="EE",
        carnet_id=d.carnet_id,
        body=d.model_dump_json().encode(),
        message_id=d.message_id,
        content_type="application/json",
    )
    outcome = relay_deliver(env)
    assert isinstance(outcome, Done) and outcome.result_event and b"RELAY-EE-1" in outcome.result_event
    assert world.state("EE")["effects"]["RELAY-EE-1"] == 1
