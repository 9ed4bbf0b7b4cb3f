"""The delivery outcomes as the relay worker sees them, and the ready-made relay delivery callable."""

from __future__ import annotations

import base64
import json

from conformance.simulators.testing import World, journey_declaration
from gateway.adapters.delivery import relay_deliver, to_relay
from gateway.relay.envelope import Envelope
from gateway.relay.outcome import Done, Final, Retry
from gateway.transport import Delivered, FinalFailure, RetryableFailure


def test_outcomes_map_to_relay_outcomes() -> None:
    answer = to_relay(Delivered(b"<R/>", "A"))
    assert isinstance(answer, Done)
    assert json.loads(answer.result_event) == {
        "outcome": "answer",
        "document": base64.b64encode(b"<R/>").decode(),
    }
    ack = to_relay(Delivered(None, "ACK-7"))
    assert json.loads(ack.result_event) == {"outcome": "acknowledged", "ack_id": "ACK-7"}
    assert to_relay(RetryableFailure(504, "slow")) == Retry("slow", 504)
    down = to_relay(RetryableFailure(503, "down"), attempt=3)
    assert isinstance(down, Done) and json.loads(down.result_event)["outcome"] == "unavailable"
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
    assert isinstance(outcome, Done) and outcome.result_event
    assert b"RELAY-EE-1" in base64.b64decode(json.loads(outcome.result_event)["document"])
    assert world.state("EE")["effects"]["RELAY-EE-1"] == 1
