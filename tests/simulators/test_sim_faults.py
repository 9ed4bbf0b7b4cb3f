"""Each injected fault gives its documented outcome (conformance/simulators/faults.py) over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conformance.simulators.faults import Faults, parse
from conformance.simulators.testing import World, journey_declaration
from gateway.adapter_spec import Adapter, RetryPolicy, Timeouts
from gateway.adapters import registry
from gateway.adapters.delivery import answered, deliver, query_status
from gateway.errors import Code
from gateway.transport import Delivered, FinalFailure, RetryableFailure

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02)


@pytest.fixture(autouse=True)
def _clean(world: World) -> Iterator[None]:
    world.reset()
    yield
    world.simulator.set_faults("")


def fast(code: str, **changes: object) -> Adapter:
    return registry.get(code).with_(**{"retry": FAST, **changes})


@pytest.mark.parametrize("code", ["AT", "CY", "GB"])  # SOAP 1.2, SOAP 1.1, REST
def test_two_5xx_then_delivered(world: World, code: str) -> None:
    world.simulator.set_faults("http_5xx:2")
    outcome = deliver(journey_declaration(code, message_id=f"FLAKY-{code}"), code, adapter=fast(code))
    assert isinstance(outcome, Delivered) and outcome.attempts == 3
    assert world.state(code)["effects"] == {f"FLAKY-{code}": 1}


def test_5xx_throughout_is_retryable_503(world: World) -> None:
    world.simulator.set_faults("down")
    outcome = deliver(journey_declaration("BE", message_id="DOWN-1"), "BE", adapter=fast("BE"))
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_UNAVAILABLE
    assert outcome.attempts == 3


def test_server_fault_is_retryable_500(world: World) -> None:
    world.simulator.set_faults("soap_fault")
    outcome = deliver(journey_declaration("HU", message_id="SF-1"), "HU", adapter=fast("HU"))
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_FAULT


def test_hang_is_a_retryable_timeout_504(world: World) -> None:
    world.simulator.set_faults("hang=3:1")
    adapter = fast("LV", retry=RetryPolicy(attempts=1), timeouts=Timeouts(connect=1.0, read=0.3))
    outcome = deliver(journey_declaration("LV", message_id="HANG-1"), "LV", adapter=adapter)
    # 504: the 0.3 s read timeout fired, not the 3 s hang's end (timing itself decides no test)
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_TIMEOUT


def test_latency_within_the_timeout_is_fine(world: World) -> None:
    world.simulator.set_faults("latency=0.2:1")
    outcome = deliver(journey_declaration("LT", message_id="SLOW-1"), "LT", adapter=fast("LT"))
    assert isinstance(outcome, Delivered) and outcome.message is not None


def test_malformed_answer_is_retryable_and_idempotent(world: World) -> None:
    world.simulator.set_faults("malformed:1")
    outcome = deliver(journey_declaration("LU", message_id="BROKEN-1"), "LU", adapter=fast("LU"))
    assert isinstance(outcome, Delivered) and outcome.attempts == 2  # asked again, same answer
    assert world.state("LU")["effects"] == {"BROKEN-1": 1}
    world.simulator.set_faults("malformed")
    outcome = deliver(journey_declaration("LU", message_id="BROKEN-2"), "LU", adapter=fast("LU"))
    assert isinstance(outcome, RetryableFailure) and outcome.code == Code.CUSTOMS_FAULT


@pytest.mark.parametrize(("profile", "code"), [("bad_signature", 121), ("missing_signature", 120)])
def test_untrustworthy_answer_is_final(world: World, profile: str, code: int) -> None:
    world.simulator.set_faults(profile)
    outcome = deliver(journey_declaration("PT", message_id=f"SIG-{code}"), "PT", adapter=fast("PT"))
    assert isinstance(outcome, FinalFailure) and outcome.code == code


def test_duplicate_notification_has_one_effect(world: World) -> None:
    world.simulator.set_faults("duplicate")
    d = journey_declaration("GB", message_id="GB-DUP-1")
    world.inbox.expect(d)  # the pushed answer names only its LRN: matched to what was sent
    assert isinstance(deliver(d, "GB", adapter=fast("GB")), Delivered)
    answer = world.inbox.wait_for(d.message_id)
    assert answer is not None and answer.committed
    deadline = time.monotonic() + 3
    while world.inbox.receipts[answer.message_id] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert world.inbox.receipts[answer.message_id] == 2 and world.inbox.effects[answer.message_id] == 1


def test_missing_notification_is_recovered_by_status_query(world: World) -> None:
    world.simulator.set_faults("no_notification")
    d = journey_declaration("GB", message_id="GB-SILENT-1")
    outcome = deliver(d, "GB", adapter=fast("GB"))
    assert isinstance(outcome, Delivered) and outcome.response is None and outcome.ack_id
    assert world.inbox.wait_for(d.message_id, timeout=0.3) is None
    polled = query_status("GB", d.message_id, context=answered(d))
    assert isinstance(polled, Delivered) and polled.message is not None and polled.message.committed


def test_soap_acknowledged_message_can_be_queried(world: World) -> None:
    d = journey_declaration("SI", message_id="SI-Q-1")
    assert isinstance(deliver(d, "SI"), Delivered)
    polled = query_status("SI", d.message_id, context=answered(d))
    assert isinstance(polled, Delivered) and polled.message is not None
    unknown = query_status("SI", "NEVER-SENT")
    assert isinstance(unknown, RetryableFailure)  # status "unknown": nothing to read yet


def test_profiles_parse_and_count_down() -> None:
    assert [f.kind for f in parse("flaky")] == ["http_5xx"]
    faults = Faults("http_5xx:1,latency=0.1")
    assert faults.take("http_5xx") is not None and faults.take("http_5xx") is None
    assert faults.take("latency").value == 0.1 and faults.take("latency") is not None  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown fault"):
        parse("meteor")


def test_control_endpoint_sets_faults(world: World) -> None:
    world.simulator.set_faults("slow")
    assert world.simulator.control("GET", "faults") == {"profile": "slow"}
