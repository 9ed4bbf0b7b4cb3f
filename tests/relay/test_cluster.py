"""A three-node cluster with quorum queues: kill -9 of the queue leader's node loses no confirmed message; a
worker whose node dies goes on through another; and the whole gateway past one machine — two ``serve``
replicas and two workers per territory on one PostgreSQL — loses nothing when a replica and a node die."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pika
import pytest

from devtools.rabbit import RabbitCluster
from gateway.relay import Done, Envelope, Publisher, Store, Worker
from gateway.relay.connect import connect, node_urls
from gateway.relay.publisher import ConfirmChannel, Outgoing
from gateway.relay.topology import OUTBOUND, Topology, work_queue
from gateway.serving import free_port
from tests.broker import drain_queue
from tests.conftest import need_rabbit
from tests.relay.relay_helpers import running

pytestmark = [pytest.mark.slow, pytest.mark.broker]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RabbitCluster]:
    need_rabbit()
    data = tempfile.mkdtemp(prefix="eata-cluster-")
    c = RabbitCluster(data, 3, prefix=f"eatacl{int(time.time()) % 100000}x")
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(data, ignore_errors=True)


def _leader(cluster: RabbitCluster, queue: str) -> str:
    for node in cluster.nodes:
        if not node.running:
            continue
        out = node.ctl("list_queues", "name", "leader", "--no-table-headers", "-q")
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] == queue:
                return parts[1]
    raise AssertionError(f"no leader for {queue}")


def test_kill_of_the_leader_loses_no_confirmed_message(cluster: RabbitCluster) -> None:
    territory = "QQ"
    first = cluster.nodes[0]
    conn = pika.BlockingConnection(pika.URLParameters(first.url))
    Topology(delays_ms=(1000,)).declare(conn, [territory])  # declared on `first`: its leader is there
    conn.close()
    queue = work_queue(territory)
    leader = cluster.node_named(_leader(cluster, queue))
    publish_to = next(n for n in cluster.nodes if n is not leader)

    confirmed: set[str] = set()
    attempted = 0
    stop = threading.Event()

    def produce() -> None:
        nonlocal attempted
        chan: ConfirmChannel | None = None
        while not stop.is_set():
            try:
                chan = (
                    chan if chan is not None and chan.is_open else ConfirmChannel(publish_to.url, timeout=15)
                )
            except ConnectionError:
                time.sleep(0.2)
                continue
            batch = [
                Envelope(kind="d", territory=territory, carnet_id=f"C{i}", body=b"x" * 300)
                for i in range(200)
            ]
            results = chan.send([Outgoing(OUTBOUND, e.routing_key, e) for e in batch])
            attempted += len(batch)
            confirmed.update(e.message_id for e, err in zip(batch, results, strict=True) if err is None)
        if chan is not None:
            chan.close()

    t = threading.Thread(target=produce, daemon=True)
    t.start()
    while len(confirmed) < 2000:
        time.sleep(0.02)
    leader.kill()  # kill -9 of the leader's Erlang VM, mid-stream
    killed_at = len(confirmed)
    deadline = time.monotonic() + 60
    while len(confirmed) < killed_at + 2000:  # publishing goes on once a new leader is elected
        assert time.monotonic() < deadline, "no progress after the leader died"
        time.sleep(0.05)
    stop.set()
    t.join(30)
    new_leader = _leader(cluster, queue)
    assert new_leader != leader.nodename

    got = {props.message_id for props, _body in drain_queue(publish_to.url, queue)}
    missing = confirmed - got
    assert not missing, f"{len(missing)} confirmed messages lost of {len(confirmed)}"
    print(f"\nconfirmed {len(confirmed)} of {attempted} attempted; leader {leader.nodename} → {new_leader}")
    leader.start()  # rejoins the cluster, so teardown stops three healthy nodes


def test_a_worker_whose_node_dies_goes_on_through_another(cluster: RabbitCluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """EATA_AMQP_URL lists the three nodes: publisher and worker are on the first that answers; kill -9
    of the worker's node, and worker and publisher go on through another, nothing lost or done twice."""
    url = ",".join(cluster.urls)
    assert node_urls(url) == list(cluster.urls)
    territory = "QF"
    calls: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def deliver(env: Envelope) -> Done:
        time.sleep(0.002)  # slow enough that the kill lands mid-stream
        with lock:
            calls.append((env.message_id, env.carnet_id, int(env.body)))
        return Done(None)

    store = Store(f"sqlite:///{tmp_path / 'relay.db'}")
    publisher = Publisher(url, store)
    worker = Worker(url, territory, deliver, store, concurrency=4, reconnect_delay=0.2)
    envs = [
        Envelope(kind="d", territory=territory, carnet_id=f"C{i % 40}", body=str(i).encode())
        for i in range(3000)
    ]
    try:
        publisher.declare([territory])
        publisher.publish(envs[:1500])
        with running(worker):
            while len(calls) < 300:
                time.sleep(0.01)
            port = worker._conn._impl.params.port  # type: ignore[union-attr]  # the node it consumes on
            victim = next(n for n in cluster.nodes if n.port == port)
            victim.kill()
            publisher.accept(envs[1500:])  # accepted while a node is down: the drainer sends them
            deadline = time.monotonic() + 90
            while publisher.drain():
                pass
            while store.outbox_counts()["outbox_pending"]:
                assert time.monotonic() < deadline, publisher.drain_error
                time.sleep(0.2)
                publisher.drain()
            while len({c[0] for c in calls}) < len(envs) and time.monotonic() < deadline:
                time.sleep(0.05)
            moved_to = worker._conn._impl.params.port  # type: ignore[union-attr]
        ids = [c[0] for c in calls]
        missing = {e.message_id for e in envs} - set(ids)
        assert not missing, f"{len(missing)} of {len(envs)} never delivered"
        assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} delivered twice"
        seqs: dict[str, list[int]] = {}
        for _mid, carnet, seq in calls:
            seqs.setdefault(carnet, []).append(seq)
        assert all(s == sorted(s) for s in seqs.values()), "a carnet's order broke"
        assert moved_to != port and worker.stats["reconnects"] >= 1
        print(f"\nworker moved from node :{port} to :{moved_to}; {len(ids)} delivered once each, in order")
    finally:
        publisher.close()
        store.dispose()
        for node in cluster.nodes:
            if not node.running:
                node.start()  # rejoins, so the next test and teardown see three nodes
    conn = connect(url)
    conn.close()


# -- several replicas, proven: two `serve` processes, two workers per territory, one node and one replica killed

CARNETS = int(os.environ.get("EATA_REPLICA_CARNETS", "100"))  # × 5 transactions; CI: 500
STEPS = [
    ("activation", "NO01011A"),
    ("exportation", "NO02011B"),
    ("importation", "CH001801"),
    ("re_exportation", "CH002771"),
    ("re_importation", "NO01018C"),
]
FINAL = {"committed", "rejected", "held", "paper_fallback"}


class Replicas:
    """HTTP to whichever of the gateway replicas is up: a request that meets a dead one goes to the next."""

    def __init__(self, urls: list[str], key: str) -> None:
        self.clients = [httpx.Client(base_url=u, headers={"X-API-Key": key}, timeout=30) for u in urls]
        self.dead: set[int] = set()

    def call(self, prefer: int, method: str, path: str, **kw: object) -> tuple[httpx.Response, bool]:
        """(response, whether an earlier try met a dead replica: a POST may have been taken there)."""
        failed = False
        for i in [prefer % len(self.clients), *range(len(self.clients))]:
            if i in self.dead:
                continue
            try:
                return self.clients[i].request(method, path, **kw), failed  # type: ignore[arg-type]
            except httpx.TransportError:
                self.dead.add(i)
                failed = True
        raise AssertionError("no replica answers")

    def close(self) -> None:
        for c in self.clients:
            c.close()


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # noqa: SIM115 - the child holds it
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        out.close()


@pytest.mark.postgres
def test_two_replicas_and_four_workers_lose_nothing_when_a_replica_and_a_node_die(
    cluster: RabbitCluster, pg_url: str, tmp_path: Path
) -> None:
    """Issue 15 item 4. Carnets go NO → CH → NO (activation, exportation, importation, re-exportation,
    re-importation) through both replicas' APIs, alternating, each step submitted once the last is
    answered; replica 0 is SIGKILLed at 30 % accepted, the node of replica 1 and worker 1 at 60 %. Every
    accepted submission is answered, customs applied each message once (the simulators' effects), and
    each carnet's steps were committed in order (customs refuse a step out of order). The default is
    100 carnets (500 transactions) for CI; ``EATA_REPLICA_CARNETS=400`` gives 2,000."""
    from conformance.simulators.testing import loopback_world
    from gateway.store.db import Database
    from tests.api.conftest import TRAVEL, day, draft_carnet

    t0 = time.monotonic()
    urls = list(cluster.urls)
    rotated = [",".join(urls[i:] + urls[:i]) for i in range(len(urls))]  # each part its own first node
    procs: list[subprocess.Popen[bytes]] = []
    with loopback_world(tmp_path) as world:
        db = Database(pg_url)
        _, issuer_key = db.add_party("issuer", "Oslo Chamber of Commerce")
        # one holder per carnet: PIN attempts are counted per caller before they are checked
        holder_keys = [db.add_party("holder", f"Holder {n}")[1] for n in range(CARNETS)]
        db.engine.dispose()
        ports = [free_port(), free_port()]
        base = {**os.environ, "EATA_DATABASE_URL": pg_url, "PYTHONPATH": str(Path(__file__).parents[2])}
        try:
            for i, port in enumerate(ports):
                env = {**base, "EATA_AMQP_URL": rotated[i]}
                env["EATA_CALLBACK_URL"] = f"http://127.0.0.1:{port}/customs/callback"
                procs.append(_spawn(["serve", "--port", str(port)], env, tmp_path / f"serve{i}.log"))
            for i in range(2):  # two workers per territory (each serves NO and CH), first nodes differ
                env = {**base, "EATA_AMQP_URL": rotated[i]}
                args = ["worker", "-t", "NO", "-t", "CH", "--store", pg_url]
                procs.append(_spawn(args, env, tmp_path / f"worker{i}.log"))
            api = [f"http://127.0.0.1:{p}" for p in ports]
            for u in api:
                deadline = time.monotonic() + 60
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if httpx.get(f"{u}/readyz", timeout=2).status_code == 200:
                            break
                    assert time.monotonic() < deadline, (tmp_path / "serve0.log").read_text()[-2000:]
                    time.sleep(0.2)
            started = time.monotonic()
            holders = [Replicas(api, k) for k in holder_keys]
            issuer = Replicas(api, issuer_key)
            accepted: dict[str, str] = {}  # transaction ID -> carnet
            outcome: dict[str, tuple[str, int]] = {}  # transaction ID -> (final event kind, event id)
            lock = threading.Lock()

            def ok(resp: tuple[httpx.Response, bool], *status: int) -> dict:  # type: ignore[type-arg]
                r, _ = resp
                assert r.status_code in status, (r.status_code, r.text[:500])
                return r.json() if r.content else {}

            def journey(n: int) -> None:
                cid, holder = f"NO/2026/{200000 + n:06d}", holders[n]
                ok(
                    issuer.call(
                        n, "POST", "/v1/carnets", json={"carnet": draft_carnet(cid), "pin": "482913"}
                    ),
                    201,
                )
                ok(issuer.call(n + 1, "POST", f"/v1/carnets/{cid}/issue"), 200)
                ok(holder.call(n, "POST", f"/v1/carnets/{cid}/download", json={"pin": "482913"}), 200)
                ok(
                    holder.call(n + 1, "POST", f"/v1/carnets/{cid}/signature", json={"signer": "I. Berg"}),
                    200,
                )
                ok(holder.call(n, "POST", f"/v1/carnets/{cid}/travels", json=TRAVEL), 201)
                for step, (kind, office) in enumerate(STEPS):
                    body = {"kind": kind, "territory": office[:2], "office": office, "date": day(0)}
                    body |= {"items": "all", "travel_id": "t1"}
                    if kind == "re_importation":
                        body["not_processed_abroad"] = True  # Annex A Art. 2.4
                    tx = ok(holder.call(n + step, "POST", f"/v1/carnets/{cid}/transactions", json=body), 201)
                    tid = tx["transaction_id"]
                    r, retried = holder.call(
                        n + step + 1, "POST", f"/v1/carnets/{cid}/transactions/{tid}/submit"
                    )
                    if r.status_code != 202:  # taken by the replica that died under it, then refused again
                        assert retried and r.status_code in (409, 422), (r.status_code, r.text[:300])
                    with lock:
                        accepted[tid] = cid
                    deadline = time.monotonic() + 90
                    while time.monotonic() < deadline:
                        events = ok(
                            holder.call(n, "GET", f"/v1/carnets/{cid}/transactions/{tid}/timeline"), 200
                        )
                        final = [e for e in events if e["kind"] in FINAL]
                        if final:
                            with lock:
                                outcome[tid] = (final[0]["kind"], final[0]["id"])
                            break
                        time.sleep(0.25)
                    else:
                        return  # never answered: counted as lost below

            def chaos() -> None:
                total = CARNETS * len(STEPS)
                while len(accepted) < total * 0.3:
                    time.sleep(0.05)
                procs[0].kill()  # SIGKILL of replica 0, mid-run
                while len(accepted) < total * 0.6:
                    time.sleep(0.05)
                cluster.nodes[1].kill()  # the node replica 1 and worker 1 are on

            killer = threading.Thread(target=chaos, daemon=True)
            killer.start()
            with ThreadPoolExecutor(48) as pool:  # carnets in flight at once
                list(pool.map(journey, range(CARNETS)))
            killer.join(5)
            wall = time.monotonic() - started
            effects: Counter[str] = Counter()
            for code in ("NO", "CH"):
                effects.update(world.state(code)["effects"])
            duplicates = sum(1 for v in effects.values() if v > 1)
            lost = [t for t in accepted if t not in outcome]
            by_carnet: dict[str, list[tuple[str, int]]] = {}
            for tid, cid in accepted.items():
                if tid in outcome:
                    by_carnet.setdefault(cid, []).append(outcome[tid])
            not_committed = sum(1 for k, _ in outcome.values() if k != "committed")
            disorder = sum(
                1 for seq in by_carnet.values() if [i for _, i in seq] != sorted(i for _, i in seq)
            )
            print(
                f"\nreplicas: {CARNETS} carnets, submitted {len(accepted)}, answered {len(outcome)}, lost "
                f"{len(lost)}, applied twice at customs {duplicates} (effects {len(effects)}), order "
                f"violations {disorder + not_committed} (not committed {not_committed}), wall {wall:.1f} s "
                f"(with start {time.monotonic() - t0:.1f} s); replica 0 SIGKILLed, node "
                f"{cluster.nodes[1].nodename} killed"
            )
            assert len(accepted) == CARNETS * len(STEPS)
            assert not lost, f"{len(lost)} accepted submissions never answered"
            assert duplicates == 0
            assert not_committed == 0 and disorder == 0
            assert len(effects) >= len(accepted)
            for r in (*holders, issuer):
                r.close()
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(20)
                if p.poll() is None:
                    p.kill()
            for node in cluster.nodes:
                if not node.running:
                    node.start()
