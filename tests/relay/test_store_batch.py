"""The worker's batch calls on the relay store keep what one call per message guarantees."""

from __future__ import annotations

from gateway.relay import Envelope, Store


def env(carnet: str, mid: str) -> Envelope:
    return Envelope(kind="declaration", territory="TB", carnet_id=carnet, body=mid.encode(), message_id=mid)


def test_claim_many_holds_parks_and_recognises_in_order(store: Store) -> None:
    a1, b1, a2 = env("A", "A1"), env("B", "B1"), env("A", "A2")
    assert store.claim_many([a1, b1, a2], "q") == [("go", None), ("go", None), ("parked", None)]
    assert store.claim_many([a1, a2], "q") == [("go", None), ("parked", None)]  # a redelivery: same answers
    assert store.outbox_counts()["parked"] == 1  # parked once, not twice


def test_finish_many_records_all_and_hands_each_carnet_to_its_next_message(store: Store) -> None:
    a1, b1, a2 = env("A", "A1"), env("B", "B1"), env("A", "A2")
    store.claim_many([a1, b1, a2], "q")
    released = store.finish_many([(a1, "done", None, b"event-a1"), (b1, "dead", 510, None)])
    assert [[(q, e.message_id) for _, q, e in r] for r in released] == [[("q", "A2")], []]
    seen = store.claim_many([a1, b1], "q")
    assert [s for s, _ in seen] == ["seen", "seen"]
    assert seen[0][1] is not None and seen[0][1].event == b"event-a1"
    assert seen[1][1] is not None and (seen[1][1].outcome, seen[1][1].code) == ("dead", 510)
    store.unpark_many([seq for r in released for seq, _, _ in r])
    assert store.released("A") == [] and store.claim(a2, "q") == ("go", None)  # A2 now holds carnet A
    assert store.finish_many([]) == []
