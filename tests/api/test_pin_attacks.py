"""The PIN download attacked as issue 13 found it: parallel guesses racing the limit, carnet numbers
probed by how long the answer takes, a stranger locking the holder out, and guesses stalling the API.

Real gateway over real HTTP (uvicorn on a free port); guesses are released together by a barrier.
"""

from __future__ import annotations

import threading
from collections import Counter

import httpx

from gateway.store import secrets
from tests.api.conftest import Gateway, draft_carnet

CID = "NO/2026/000123"
PIN = "482913"
LIMIT = 5  # wrong PINs per caller in 15 minutes (Service default)


def issued(gw: Gateway, cid: str = CID, pin: str = PIN) -> None:
    with gw.client("issuer") as c:
        assert c.post("/v1/carnets", json={"carnet": draft_carnet(cid), "pin": pin}).status_code == 201
        assert c.post(f"/v1/carnets/{cid}/issue").status_code == 200


def strangers(gw: Gateway, n: int, prefix: str = "prober") -> list[str]:
    """``n`` more holder accounts, each with its own API key."""
    names = []
    for i in range(n):
        _, gw.keys[f"{prefix}{i}"] = gw.service.db.add_party("holder", f"{prefix}{i}")
        names.append(f"{prefix}{i}")
    return names


def burst(gw: Gateway, guesses: list[tuple[str, str, str]]) -> list[httpx.Response]:
    """Send every (caller, carnet, pin) guess at once, each on its own connection; answers in order."""
    barrier = threading.Barrier(len(guesses))
    answers: list[httpx.Response | None] = [None] * len(guesses)
    clients = [gw.client(who) for who, _, _ in guesses]

    def go(i: int) -> None:
        _, cid, pin = guesses[i]
        barrier.wait()
        answers[i] = clients[i].post(f"/v1/carnets/{cid}/download", json={"pin": pin}, timeout=120)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(guesses))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert all(a is not None for a in answers)
    return answers  # type: ignore[return-value]


def test_49_wrong_guesses_and_the_right_pin_at_once_do_not_outrun_the_limit(gateway: Gateway) -> None:
    issued(gateway)
    wrong = [f"{n:06d}" for n in range(100000, 100049)]
    assert PIN not in wrong
    answers = burst(gateway, [("holder", CID, pin) for pin in [*wrong, PIN]])
    right = answers[-1]
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 404, 429}, statuses
    # every attempt is counted before its PIN is checked: at most LIMIT wrong PINs were ever checked
    assert statuses[404] <= LIMIT, statuses
    if right.status_code != 200:
        assert statuses[404] + statuses[200] <= LIMIT, statuses
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
        assert right.json()["problems"][0]["pointer"] == "/pin"
        with gateway.client("holder") as h:
            after = h.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}).status_code
        # once five wrong PINs were checked the right one waits too; the guesses refused in the burst
        # checked nothing, so if fewer were checked the caller still has tries left
        assert after == (429 if statuses[404] == LIMIT else 200)
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) >= len(answers) - LIMIT - 1


def test_an_unknown_carnet_costs_the_same_and_answers_the_same_as_a_wrong_pin(gateway: Gateway) -> None:
    issued(gateway)
    with gateway.client("holder") as h:
        before = secrets.pin_checks()
        known = h.post(f"/v1/carnets/{CID}/download", json={"pin": "000000"})
        after_known = secrets.pin_checks()
        unknown = h.post("/v1/carnets/NO/2026/999999/download", json={"pin": "000000"})
        after_unknown = secrets.pin_checks()
    # one scrypt evaluation each: the answer's time does not tell whether the carnet exists
    assert after_known - before == 1 and after_unknown - after_known == 1
    assert known.status_code == unknown.status_code == 404
    assert known.json() == unknown.json()
    assert known.json()["problems"][0]["pointer"] == "/pin"
    assert set(known.headers) - {"date", "x-correlation-id"} == set(unknown.headers) - {
        "date",
        "x-correlation-id",
    }


def test_a_strangers_guesses_do_not_lock_the_holder_out(gateway: Gateway) -> None:
    issued(gateway)
    # a stranger fires 30 guesses at once at the holder's carnet: refused after its own five
    answers = burst(gateway, [("holder2", CID, f"{n:06d}") for n in range(200000, 200030)])
    wrong = Counter(a.status_code for a in answers)[404]
    assert wrong <= LIMIT
    with gateway.client("holder2") as stranger:  # and keeps guessing until it is held off
        for n in range(LIMIT + 1):
            r = stranger.post(f"/v1/carnets/{CID}/download", json={"pin": f"{210000 + n:06d}"})
            if r.status_code == 429:
                break
            assert r.status_code == 404
            wrong += 1
        assert r.status_code == 429 and wrong == LIMIT
    with gateway.client("holder") as h:  # the holder is not locked out by it
        r = h.post(f"/v1/carnets/{CID}/download", json={"pin": PIN})
        assert r.status_code == 200, r.text


def test_many_strangers_lock_a_carnet_but_never_the_holder_who_has_it(gateway: Gateway) -> None:
    issued(gateway)
    with gateway.client("holder") as h:
        assert h.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}).status_code == 200
    # eight accounts, five guesses each (one after another): past the per-carnet limit of 20
    guesses = [
        (who, CID, f"{300000 + i * 10 + j:06d}")
        for i, who in enumerate(strangers(gateway, 8))
        for j in range(5)
    ]
    answers = []
    for who, cid, pin in guesses:
        with gateway.client(who) as c:
            answers.append(c.post(f"/v1/carnets/{cid}/download", json={"pin": pin}))
    checked = Counter(a.status_code for a in answers)
    assert checked == {404: 20, 429: 20}, checked  # 20 PINs of this carnet were checked, no more
    with gateway.client("holder") as h:  # the holder, who has the carnet, still downloads it
        assert h.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}).status_code == 200
    _, gateway.keys["late"] = gateway.service.db.add_party("holder", "late")
    with gateway.client("late") as late:  # while another newcomer is held off this carnet for now
        assert late.post(f"/v1/carnets/{CID}/download", json={"pin": "123123"}).status_code == 429


def test_a_burst_of_guesses_does_not_stall_the_api(gateway: Gateway) -> None:
    issued(gateway)
    # 20 accounts × 5 guesses on numbers that do not exist: 100 full scrypt checks in flight
    callers = strangers(gateway, 20)
    guesses = [
        (who, f"NO/2026/{800000 + i * 10 + j}", "000000") for i, who in enumerate(callers) for j in range(5)
    ]
    answered: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(guesses) + 1)
    clients = [gateway.client(who) for who, _, _ in guesses]

    def go(i: int) -> None:
        _, cid, pin = guesses[i]
        barrier.wait()
        r = clients[i].post(f"/v1/carnets/{cid}/download", json={"pin": pin}, timeout=120)
        with lock:
            answered.append(r.status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(guesses))]
    for t in threads:
        t.start()
    barrier.wait()
    while not answered:  # the burst is under way: its first answers have come back
        threading.Event().wait(0.005)
    with gateway.client("nobody") as ops:
        health = ops.get("/healthz", timeout=120)
        with lock:
            finished_before_health = len(answered)
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert health.status_code == 200
    assert answered == [404] * len(guesses)
    # /healthz was answered while most guesses were still waiting for their PIN check, not after them
    assert finished_before_health < len(guesses) // 2, finished_before_health
