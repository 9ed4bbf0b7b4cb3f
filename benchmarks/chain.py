"""Guarantee chain benchmark: carnet notices relayed, verified, handled and acknowledged, per second.

    python benchmarks/chain.py [--messages 500] [--amqp URL]

Measured path (one process, as ``devtools.chain_demo.demo_flow`` runs it): ``ChainRelay.send`` (build + XSD,
XML-DSig sign with the issuing association's key, chain_sent row, outbox, confirmed publish) → quorum queue
``eata.chain.WCF`` → the chain's consumer (hardened parse, signature verified against the trust store,
signer = sender, dedup record, life-cycle handler, signed ack, confirmed publish) → the issuer's consumer
(ack verified, chain_sent marked acked). Timed until ``pending()`` is empty.

Floors, measured in the same run on the same machine:
- broker: the same signed bytes published persistent + confirmed (pipelined) to a quorum queue and consumed
  and acked by a plain pika consumer — what RabbitMQ alone costs;
- crypto: per message the four XML-DSig operations the chain needs (sign, verify, sign ack, verify ack) in
  one thread — the part no relay design can avoid.
Reports messages/s, the ratio to each floor, p50/p95 send latency and peak RSS. Without ``--amqp`` a private
node is started (``devtools.rabbit.RabbitNode``).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.chain_demo import make_chain_keys  # noqa: E402
from devtools.rabbit import RabbitNode  # noqa: E402
from gateway.chain import ChainKind  # noqa: E402
from gateway.chain.relay import ChainRelay, KeyRing  # noqa: E402
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

        def on(chx, m, _p, _b):  # type: ignore[no-untyped-def]
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


def crypto_floor(relay: ChainRelay, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        mid, body = relay.seal(ChainKind.CARNET_ISSUED, f"C{i}", "NO-OCC", "WCF", {"i": i})
        relay.open(body)
        _, ack = relay.seal(ChainKind.ACK, f"C{i}", "WCF", "NO-OCC", {"status": "accepted"}, in_reply_to=mid)
        relay.open(ack)
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--amqp")
    args = ap.parse_args()
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
            floor_crypto = crypto_floor(relay, min(n, 200))
            latencies: list[float] = []
            with ExitStack() as stack:
                consumers = [relay.consumer(p) for p in PARTIES]
                for c in consumers:
                    stack.enter_context(c.running())
                start = time.perf_counter()
                cpu0 = time.process_time()
                for i in range(n):
                    t0 = time.perf_counter()
                    relay.send(ChainKind.CARNET_ISSUED, f"NO/2026/{i:06d}", "NO-OCC", "WCF", payload)
                    latencies.append(time.perf_counter() - t0)
                while relay.pending():
                    time.sleep(0.02)
                elapsed = time.perf_counter() - start
                cpu_ms = (time.process_time() - cpu0) / n * 1000
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
                f"  send latency p50 {statistics.median(lat) * 1000:.1f} ms, "
                f"p95 {lat[int(len(lat) * 0.95) - 1] * 1000:.1f} ms"
            )
            print(
                f"  CPU per message {cpu_ms:.2f} ms (this process: sender and both consumers; the crypto floor "
                f"is {1000 / floor_crypto:.2f} ms)"
            )
            print(f"  peak RSS {peak_mb:.0f} MB (this process: sender and both consumers)")
    finally:
        if node is not None:
            node.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
