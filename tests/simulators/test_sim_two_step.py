"""The simulated customs on the EU two-step re-export (issue 14, item 8): the inland pre-re-exportation is
committed without judging the re-export deadline; the exit, where the goods leave, is judged against it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from conformance.simulators.testing import World, journey_declaration
from gateway.adapters.delivery import deliver
from gateway.errors import Code
from gateway.model import TransactionKind
from gateway.transport import Delivered


@pytest.fixture(autouse=True)
def _clean(world: World) -> Iterator[None]:
    world.reset()
    yield


def test_the_re_export_deadline_is_judged_at_the_exit_not_inland(world: World) -> None:
    imp = journey_declaration("SE", message_id="TS-IMP", valid_until=dt.date(2027, 1, 31))
    first = deliver(imp, "SE")
    assert isinstance(first, Delivered) and first.message is not None and first.message.committed
    late = dt.date(2027, 2, 1)
    rex = journey_declaration("SE", "re_exportation", message_id="TS-PRE", date=late)
    pre = rex.model_copy(update={"kind": TransactionKind.PRE_RE_EXPORTATION})
    inland = deliver(pre, "SE")
    assert isinstance(inland, Delivered) and inland.message is not None
    assert inland.message.committed, inland.message.rejection
    exit_ = rex.model_copy(update={"kind": TransactionKind.RE_EXPORTATION_EXIT, "message_id": "TS-EXIT"})
    out = deliver(exit_, "SE")
    assert isinstance(out, Delivered) and out.message is not None and out.message.rejection is not None
    assert out.message.rejection.code == Code.DEADLINE_PASSED
