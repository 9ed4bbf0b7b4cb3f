"""In-memory memos of long-running processes stay within their limit (oldest forgotten first)."""

from __future__ import annotations

from gateway.bounded import Bounded


def test_oldest_entries_are_forgotten_first() -> None:
    memo: Bounded[str, int] = Bounded(3)
    for i in range(10):
        memo[f"m{i}"] = i
    assert list(memo) == ["m7", "m8", "m9"]
    memo["m8"] = 80  # an update keeps its place and drops nothing
    assert list(memo.items()) == [("m7", 7), ("m8", 80), ("m9", 9)]


def test_a_long_run_of_callbacks_keeps_a_bounded_inbox() -> None:
    from gateway.api.callback import Inbox

    inbox = Inbox()
    limit = inbox.answers.limit  # type: ignore[attr-defined]
    for i in range(limit + 500):
        inbox.receipts[f"a{i}"] = 1
        inbox.refused.append(f"refusal {i}")
    assert len(inbox.receipts) == limit and "a0" not in inbox.receipts
    assert len(inbox.refused) == inbox.refused.maxlen
