"""Guarantee chain benchmark: carnet notices relayed, verified, handled and acknowledged, per second.

    python benchmarks/chain.py [--messages 500] [--batch 100] [--amqp URL]
    py-spy record --gil --format raw -o /tmp/chain.txt -- python benchmarks/chain.py --messages 1000
    python benchmarks/chain.py --phases /tmp/chain.txt --messages 1000 [--rate 100]

Measured path (one process, as ``devtools.chain_demo.demo_flow`` runs it): ``ChainRelay.send_many`` of
``--batch`` notices (each built + XSD-checked and XML-DSig signed with the issuing association's key; their
chain_sent and outbox rows in one transaction; published pipelined, one wait for all confirms; ``--batch 1``
is ``send``) → quorum queue ``eata.chain.WCF`` → the chain's consumer, a batch per delivery round (hardened
parse, signature verified against the trust store, signer = sender; the life-cycle handler's writes, the
signed acks and the dedup records in one transaction; the acks in one confirmed publish, no outbox) → the
issuer's consumer (acks verified, chain_sent marked acked, one transaction per batch). Timed until
``pending()`` is empty.

Floors, measured in the same run on the same machine:
- broker: the same signed bytes published persistent + confirmed (pipelined) to a quorum queue and consumed
  and acked by a plain pika consumer — what RabbitMQ alone costs;
- crypto: per message the four XML-DSig operations the chain needs (sign, verify, sign ack, verify ack) in
  one thread — the part no relay design can avoid; as a rate and as CPU per message (the CPU ratio is the
  steadier figure when other jobs share the machine).
Reports messages/s, the ratio to each floor, p50/p95 latency of a ``send_many`` call, CPU per message of
this process and of the broker, and peak RSS. Without ``--amqp`` a private node is started
(``devtools.rabbit.RabbitNode``). ``--phases`` groups a py-spy profile of a run by step, in ms per message.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.chain_demo import make_chain_keys  # noqa: E402
from devtools.rabbit import RabbitNode  # noqa: E402
from gateway.chain import ChainKind  # noqa: E402
from gateway.chain.relay import ChainRelay, KeyRing, Notice  # noqa: E402
from gateway.relay.envelope import Envelope  # noqa: E402
from gateway.relay.publisher import ConfirmChannel, Outgoing  # noqa: E402

PARTIES = ["NO-OCC", "WCF"]


def broker_floor(url: str, body: bytes, n: int) -> float:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    q = "bench.chain.floor"
    ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum"})
    ch.queue_purge(q)
    got = threading.Event()
    count = [0]

    def consume() -> None:
        c = pika.BlockingConnection(pika.URLParameters(url))
        cch = c.channel()
        cch.basic_qos(prefetch_count=256)

        def on(chx: Any, m: Any, _p: Any, _b: Any) -> None:
            chx.basic_ack(m.delivery_tag)
            count[0] += 1
            if count[0] >= n:
                got.set()

        cch.basic_consume(q, on)
        while not got.is_set():
            c.process_data_events(time_limit=0.1)
        c.close()

    t = threading.Thread(target=consume, daemon=True)
    start = time.perf_counter()
    t.start()
    confirm = ConfirmChannel(url)
    envs = [Envelope("carnet_issued", "WCF", f"C{i}", body, message_id=f"f{i}") for i in range(n)]
    errors = [e for e in confirm.send([Outgoing("", q, e) for e in envs]) if e]
    got.wait(300)
    elapsed = time.perf_counter() - start
    confirm.close()
    ch.queue_delete(q)
    conn.close()
    assert not errors, errors[:3]
    return n / elapsed


def crypto_floor(relay: ChainRelay, n: int) -> tuple[float, float]:
    """Messages/s and CPU ms per message of the four XML-DSig operations, in one thread."""
    start, cpu0 = time.perf_counter(), time.process_time()
    for i in range(n):
        mid, body = relay.seal(ChainKind.CARNET_ISSUED, f"C{i}", "NO-OCC", "WCF", {"i": i})
        relay.open(body)
        _, ack = relay.seal(ChainKind.ACK, f"C{i}", "WCF", "NO-OCC", {"status": "accepted"}, in_reply_to=mid)
        relay.open(ack)
    return n / (time.perf_counter() - start), (time.process_time() - cpu0) / n * 1000


def broker_cpu(node: RabbitNode | None) -> float:
    """CPU seconds the private node's Erlang VM has used (0 with ``--amqp``: not ours to read)."""
    if node is None:
        return 0.0
    fields = Path(f"/proc/{node.beam_pid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Steps of a relayed message, by the innermost of these frames in a sample's stack (first match wins).
PHASES = (
    ("ChainRelay.__init__ ", "startup, threads, other"),
    ("connect ", "startup, threads, other"),
    ("ChainRelay.seal ", "seal: build + XSD + sign (message and ack)"),
    ("ChainRelay.open ", "open: parse + verify + read (message and ack)"),
    ("record_lifecycle ", "handler: the chain's carnet status"),
    ("ChainTx.savepoint", "handler: the chain's carnet status"),
    ("ChainStore.record_sent", "chain_sent rows"),
    ("ChainSender.put ", "outbox rows"),
    ("outbox_put_many ", "outbox rows"),
    ("Publisher.accept ", "outbox rows"),
    ("ChainStore.record_ack", "acks recorded"),
    ("ChainStore.received_ack", "dedup lookup"),
    ("ChainStore.record_received", "dedup record (message + its ack)"),
    ("ReceivedBatch.", "dedup lookup + record (message + its ack), batch transaction"),
    ("ChainStore.handling", "handling locks"),
    ("ChainSender.send_put ", "publish: confirm wait + outbox delete"),
    ("ChainSender.send ", "deliveries acked, acks published"),
    ("Publisher.send_accepted ", "publish: confirm wait + outbox delete"),
    ("Publisher.publish ", "publish: confirm wait + outbox delete"),
    ("IOLoop.start ", "confirm channel I/O thread (pika)"),
    ("ChainConsumer._finish ", "deliveries acked, acks published"),
    ("ChainConsumer._consume ", "consumer loop (pika)"),
    ("ChainStore.pending ", "benchmark's pending() poll"),
    ("ChainRelay.", "relay, other"),
    ("ChainConsumer.", "consumer, other"),
)


def print_phases(path: Path, rate: int, messages: int) -> None:
    """A ``py-spy record --gil --format raw`` file of this benchmark by step: ms of GIL-holding Python per
    message (C code that releases the GIL is not in it), and the share of the relayed part's samples (the
    floors' left out; startup is listed, not shared)."""
    counts: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not n.isdigit() or any(f.startswith(("crypto_floor ", "broker_floor ")) for f in frames):
            continue
        label = next(
            (lab for f in reversed(frames) for m, lab in PHASES if f.startswith(m)), "startup, threads, other"
        )
        counts[label] = counts.get(label, 0) + int(n)
    startup = counts.pop("startup, threads, other", 0)
    total = sum(counts.values()) or 1
    for label, k in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {k / total:6.1%}  {k / rate / messages * 1000:5.2f} ms  {label}")
    print(
        f"  total {total / rate / messages * 1000:.2f} ms per message; startup, other: {startup / rate:.2f} s"
    )


def _party_main(url: str, db: str, keys_dir: Path, go: Any, stop: Any, out: Any) -> None:
    with ChainRelay(url, db, KeyRing(keys_dir)) as relay, relay.consumer("WCF").running():
        go.wait()
        cpu0 = time.process_time()
        stop.wait()
        cpu = time.process_time() - cpu0
    out.put((cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


class Party:
    """The chain's consumer in a process of its own (spawned: no broker connection inherited)."""

    def __init__(self, url: str, db: str, keys_dir: Path) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.go, self.stop, self.out = ctx.Event(), ctx.Event(), ctx.Queue()
        self.proc = ctx.Process(target=_party_main, args=(url, db, keys_dir, self.go, self.stop, self.out))
        self.proc.start()

    def result(self) -> tuple[float, float]:
        """CPU seconds from ``go`` to now and peak RSS (MB) of the party's process."""
        self.stop.set()
        return self.out.get(timeout=60)

    def close(self) -> None:
        self.stop.set()
        self.proc.join(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--batch", type=int, default=100, help="notices per send_many call (1: send)")
    ap.add_argument("--amqp")
    ap.add_argument(
        "--split",
        action="store_true",
        help="the chain's consumer (WCF) in its own process with its own database, as its gateway runs",
    )
    ap.add_argument("--phases", type=Path, help="print a py-spy raw profile of a run by step, then stop")
    ap.add_argument("--rate", type=int, default=100, help="with --phases: py-spy's samples per second")
    args = ap.parse_args()
    if args.phases:
        print_phases(args.phases, args.rate, args.messages)
        return
    work = Path(tempfile.mkdtemp(prefix="eata-chain-bench-"))
    node = None
    try:
        url = args.amqp
        if not url:
            node = RabbitNode(work / "rabbit", "eatachainbench")
            node.start()
            url = node.url
        keys = KeyRing(make_chain_keys(work / "keys", PARTIES))
        with ChainRelay(url, f"sqlite:///{work}/chain.db", keys) as relay:
            relay.declare(PARTIES)
            n = args.messages
            payload = {"carnet": {"carnet_id": "NO/2026/000123", "holder": "Nordlys Film AS", "items": 4}}
            _, sample = relay.seal(ChainKind.CARNET_ISSUED, "NO/2026/000123", "NO-OCC", "WCF", payload)
            floor_broker = broker_floor(url, sample, n)
            floor_crypto, floor_cpu_ms = crypto_floor(relay, min(n, 200))
            latencies: list[float] = []
            with ExitStack() as stack:
                party = Party(url, f"sqlite:///{work}/wcf.db", keys.keys_dir) if args.split else None
                if party is not None:
                    stack.callback(party.close)
                consumers = [relay.consumer(p) for p in (PARTIES[:1] if args.split else PARTIES)]
                for c in consumers:
                    stack.enter_context(c.running())
                notices = [
                    Notice(ChainKind.CARNET_ISSUED, f"NO/2026/{i:06d}", "NO-OCC", "WCF", payload)
                    for i in range(n)
                ]
                start = time.perf_counter()
                cpu0, broker0 = time.process_time(), broker_cpu(node)
                if party is not None:
                    party.go.set()
                for b in range(0, n, args.batch):
                    t0 = time.perf_counter()
                    relay.send_many(notices[b : b + args.batch])
                    latencies.append(time.perf_counter() - t0)
                # the issuer's consumer counts the acks it recorded (reading pending() would cost as much)
                while consumers[0].stats.get("ack", 0) < n:
                    time.sleep(0.005)
                while relay.pending():
                    time.sleep(0.005)
                elapsed = time.perf_counter() - start
                cpu_ms = (time.process_time() - cpu0) / n * 1000
                broker_ms = (broker_cpu(node) - broker0) / n * 1000
                party_cpu, party_mb = party.result() if party is not None else (0.0, 0.0)
            rate = n / elapsed
            acked = sum(1 for r in relay.chain.sent_rows() if r.ack_status == "accepted")
            assert acked == n, f"only {acked}/{n} acknowledged"
            lat = sorted(latencies)
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"chain messages relayed + verified + handled + acked: {n} in {elapsed:.2f}s = {rate:.0f} msg/s"
            )
            print(
                f"  floor broker (confirmed quorum publish + plain consume): {floor_broker:.0f} msg/s, "
                f"ratio {rate / floor_broker:.2f}"
            )
            print(
                f"  floor crypto (sign, verify, sign ack, verify ack; 1 thread): {floor_crypto:.0f} msg/s, "
                f"ratio {rate / floor_crypto:.2f}"
            )
            print(
                f"  send_many latency ({args.batch} notices a call) p50 {statistics.median(lat) * 1000:.1f} ms, "
                f"p95 {lat[max(0, int(len(lat) * 0.95) - 1)] * 1000:.1f} ms"
            )
            here = "sender and the issuer's consumer" if args.split else "sender and both consumers"
            print(
                f"  CPU per message {cpu_ms:.2f} ms (this process: {here}; the crypto floor is "
                f"{1000 / floor_crypto:.2f} ms)"
                + (f", the chain's process {party_cpu / n * 1000:.2f} ms" if args.split else "")
                + f", broker {broker_ms:.2f} ms"
                + ("" if node else " (--amqp: not measured)")
            )
            ours_ms = cpu_ms + party_cpu / n * 1000
            print(
                f"  CPU: the crypto floor {floor_cpu_ms:.2f} ms per message, the relayed path "
                f"{ours_ms:.2f} ms (our processes), ratio {floor_cpu_ms / ours_ms:.2f} "
                "(steadier than rates on a shared machine)"
            )
            print(
                f"  peak RSS {peak_mb:.0f} MB (this process: {here})"
                + (f", the chain's process {party_mb:.0f} MB" if args.split else "")
            )
    finally:
        if node is not None:
            node.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
