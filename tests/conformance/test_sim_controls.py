"""The simulator controls the runner relies on: a fault profile for one territory, the Core's carnet facts."""

from __future__ import annotations

from pathlib import Path

import httpx

from conformance.simulators.testing import journey_declaration, loopback_world
from gateway.adapters.delivery import deliver
from gateway.transport import Delivered, RetryableFailure


def test_territory_fault_profile_leaves_the_others_alone(tmp_path: Path) -> None:
    with loopback_world(tmp_path) as world:
        sim = world.simulator
        assert sim.control("POST", "faults/CH", json={"profile": "down"})["profile"] == "down"
        assert sim.control("GET", "faults") == {"profile": ""}  # the simulator-wide profile is untouched
        ch = journey_declaration("CH", message_id="CTL-CH-1")
        se = journey_declaration("SE", message_id="CTL-SE-1")
        assert isinstance(deliver(ch, "CH", sleep=lambda _: None), RetryableFailure)
        outcome = deliver(se, "SE")
        assert isinstance(outcome, Delivered) and outcome.message is not None and outcome.message.committed
        sim.control("POST", "faults/CH", json={"profile": None})
        assert sim.control("GET", "faults/CH")["profile"] == ""
        bad = httpx.post(f"{sim.url}/_control/faults/CH", json={"profile": "meteor"}, trust_env=False)
        assert bad.status_code == 400 and "unknown fault" in bad.json()["error"]


def test_core_carnet_facts_make_customs_refuse_unlisted_items(tmp_path: Path) -> None:
    with loopback_world(tmp_path) as world:
        d = journey_declaration("SE", message_id="CTL-SE-302")
        listed = [i.item_number for i in d.items][1:]  # the Core lists all but the first declared item
        world.simulator.control(
            "POST",
            "carnets",
            json={"carnet_id": d.carnet_id, "items": listed, "valid_until": str(d.valid_until)},
        )
        outcome = deliver(d, "SE")
        assert isinstance(outcome, Delivered) and outcome.message is not None
        assert outcome.message.rejection is not None and outcome.message.rejection.code == 302
        bad = httpx.post(f"{world.simulator.url}/_control/carnets", json={"items": [1]}, trust_env=False)
        assert bad.status_code == 400
