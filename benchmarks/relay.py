"""Relay benchmark: end-to-end throughput and latency against a raw-pika floor measured in the same run.

    python benchmarks/relay.py [--messages 5000] [--size 2000] [--concurrency 4] [--amqp URL]

Path measured: Publisher (outbox + pipelined confirms) → quorum work queue → worker subprocess (dedup
store, per-carnet hold) → HTTP sink subprocess → result event (confirmed) → event consumer here.
Floor: the same bytes published persistent + confirmed (pipelined) to a quorum queue, consumed and acked
by a plain pika consumer — what the broker alone costs. Without ``--amqp`` a private node is started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.relay import Envelope, Publisher, Store, Topology  # noqa: E402
from gateway.relay.node import RabbitNode, free_port  # noqa: E402
from gateway.relay.publisher import ConfirmChannel, Outgoing  # noqa: E402


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (children not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


class Events:
    """Consumes result events in a thread; records arrival time by correlation ID (= original message)."""

    def __init__(self, url: str, queue: str) -> None:
        self.arrived: dict[str, float] = {}
        self._stop = threading.Event()
        self._conn = pika.BlockingConnection(pika.URLParameters(url))
        self._queue = queue
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        ch = self._conn.channel()
        ch.basic_qos(prefetch_count=500)

        def on(ch_: object, method: pika.spec.Basic.Deliver, props: pika.BasicProperties, _b: bytes) -> None:
            self.arrived.setdefault(props.correlation_id or "", time.perf_counter())
            ch.basic_ack(method.delivery_tag, multiple=False)

        ch.basic_consume(self._queue, on)
        while not self._stop.is_set():
            self._conn.process_data_events(time_limit=0.05)
        self._conn.close()

    def wait(self, ids: list[str], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while any(i not in self.arrived for i in ids[-50:]) or sum(i in self.arrived for i in ids) < len(ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sum(i in self.arrived for i in ids)} of {len(ids)} events")
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def floor(url: str, n: int, body: bytes) -> tuple[float, list[float]]:
    """Raw pika: pipelined confirmed persistent publish to a quorum queue, consume + ack. (msg/s, latencies)"""
    q = "bench.floor"
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_delete(q)
    ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum"})
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    done = threading.Event()

    def consume() -> None:
        c = pika.BlockingConnection(pika.URLParameters(url))
        cch = c.channel()
        cch.basic_qos(prefetch_count=64)

        def on(_c: object, m: pika.spec.Basic.Deliver, p: pika.BasicProperties, _b: bytes) -> None:
            got[p.message_id or ""] = time.perf_counter()
            cch.basic_ack(m.delivery_tag)
            if len(got) >= n:
                done.set()

        cch.basic_consume(q, on)
        while not done.is_set():
            c.process_data_events(time_limit=0.05)
        c.close()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    chan = ConfirmChannel(url)
    envs = [Envelope(kind="bench", territory="FL", carnet_id=f"C{i % 100}", body=body) for i in range(n)]
    start = time.perf_counter()
    for i in range(0, n, 250):
        batch = envs[i : i + 250]
        t0 = time.perf_counter()
        for e in batch:
            sent[e.message_id] = t0
        results = chan.send([Outgoing("", q, e) for e in batch])
        assert not any(results), results
    done.wait(300)
    elapsed = max(got.values()) - start
    t.join(5)
    chan.close()
    ch.queue_delete(q)
    conn.close()
    return n / elapsed, [got[m] - sent[m] for m in sent]


def floor_latency(url: str, rate: float, n: int, body: bytes) -> list[float]:
    """Raw pika at the offered load: one confirmed publish at a time, paced; consume + ack."""
    q = "bench.floor.lat"
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_delete(q)
    ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum"})
    conn.close()
    got: dict[str, float] = {}
    stop = threading.Event()

    def consume() -> None:
        c = pika.BlockingConnection(pika.URLParameters(url))
        cch = c.channel()
        cch.basic_qos(prefetch_count=64)

        def on(_c: object, m: pika.spec.Basic.Deliver, p: pika.BasicProperties, _b: bytes) -> None:
            got[p.message_id or ""] = time.perf_counter()
            cch.basic_ack(m.delivery_tag)

        cch.basic_consume(q, on)
        while not stop.is_set():
            c.process_data_events(time_limit=0.02)
        c.close()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    chan = ConfirmChannel(url)
    sent = paced(rate, n, lambda batch: chan.send([Outgoing("", q, e) for e in batch]), body, "FL")
    deadline = time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    t.join(5)
    chan.close()
    return [got[m] - t0 for m, t0 in sent.items() if m in got]


def paced(rate: float, n: int, send: object, body: bytes, territory: str) -> dict[str, float]:
    """Offer ``rate`` msg/s in ticks of 10 ms; returns message_id → send start time."""
    tick = 0.01
    per_tick = rate * tick
    sent: dict[str, float] = {}
    start = time.perf_counter()
    owed = 0.0
    i = 0
    while i < n:
        owed += per_tick
        k = min(int(owed), n - i)
        owed -= k
        if k:
            batch = [
                Envelope(kind="bench", territory=territory, carnet_id=f"C{(i + j) % 100}", body=body)
                for j in range(k)
            ]
            t0 = time.perf_counter()
            for e in batch:
                sent[e.message_id] = t0
            send(batch)  # type: ignore[operator]
            i += k
        next_at = start + (len(sent) / rate)
        time.sleep(max(0.0, min(tick, next_at - time.perf_counter())))
    return sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--size", type=int, default=2000, help="body bytes (a small signed declaration)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rate", type=float, default=250.0, help="offered load for the latency run")
    ap.add_argument("--amqp", default=None)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="eata-bench-"))
    node = None
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if args.amqp:
            url = args.amqp
        else:
            node = RabbitNode(work / "rabbit", "eatabench").start()
            url = node.url
        body = (b"<declaration>" + b"x" * args.size)[: args.size]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        sink_port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gateway.relay.sink", "--port", str(sink_port)],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        territory = "BX"
        store = Store(f"sqlite:///{work}/gateway.db")
        topo = Topology(delays_ms=(1000,))
        conn = pika.BlockingConnection(pika.URLParameters(url))
        topo.declare(conn, [territory])
        events_q = topo.declare_events_queue(conn, "bench", f"{territory}.#")
        conn.close()

        # -- floor -------------------------------------------------------------------------------
        floor_rate, _ = floor(url, args.messages, body)
        floor_lat = floor_latency(url, args.rate, min(args.messages, 2500), body)

        # -- end to end -------------------------------------------------------------------------------
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.relay",
                "worker",
                "-t",
                territory,
                "--concurrency",
                str(args.concurrency),
                "--deliver",
                "gateway.relay.sink:deliver",
                "--delays",
                "1000",
                "--amqp",
                url,
                "--store",
                f"sqlite:///{work}/worker.db",
            ],
            env=dict(env, EATA_SINK_URL=f"http://127.0.0.1:{sink_port}"),
        )
        procs.append(worker)
        events = Events(url, events_q)
        pub = Publisher(url, store, topology=topo)
        time.sleep(1.0)  # worker connected

        # warm-up
        warm = [Envelope(kind="bench", territory=territory, carnet_id=f"W{i}", body=body) for i in range(200)]
        pub.publish(warm)
        events.wait([e.message_id for e in warm])
        rss_start = rss_kb(worker.pid)

        # throughput: everything at once
        beam = node.beam_pid() if node is not None else None
        cpu0 = {
            "worker": cpu_s(worker.pid),
            "sink": cpu_s(procs[0].pid),
            "publisher+events": cpu_s(os.getpid()),
        }
        if beam:
            cpu0["broker"] = cpu_s(beam)
        envs = [
            Envelope(kind="bench", territory=territory, carnet_id=f"C{i % 100}", body=body)
            for i in range(args.messages)
        ]
        start = time.perf_counter()
        for i in range(0, len(envs), 500):
            pub.publish(envs[i : i + 500])
        publish_rate = len(envs) / (time.perf_counter() - start)
        events.wait([e.message_id for e in envs])
        e2e_rate = len(envs) / (max(events.arrived[e.message_id] for e in envs) - start)
        rss_mid = rss_kb(worker.pid)
        pids = {"worker": worker.pid, "sink": procs[0].pid, "publisher+events": os.getpid(), "broker": beam}
        cpu_per_msg = {k: (cpu_s(pids[k]) - v) / len(envs) * 1000 for k, v in cpu0.items()}  # type: ignore[arg-type]

        # latency at the offered load
        n_lat = min(args.messages, 2500)
        sent = paced(args.rate, n_lat, pub.publish, body, territory)
        events.wait(list(sent))
        lat = [events.arrived[m] - t0 for m, t0 in sent.items()]
        rss_end, rss_peak = rss_kb(worker.pid), rss_kb(worker.pid, "VmHWM")
        pub.close()
        events.stop()

        ms = 1000.0
        print(
            f"\nrelay benchmark — {args.messages} msgs of {args.size} B, worker concurrency {args.concurrency}, "
            f"{os.cpu_count()} cores, persistent + confirmed, quorum queues"
        )
        print(f"  floor (raw pika publish→consume→ack):   {floor_rate:8.0f} msg/s")
        print(f"  publisher (outbox + pipelined confirms): {publish_rate:8.0f} msg/s")
        print(
            f"  end to end (→ worker → HTTP → event):    {e2e_rate:8.0f} msg/s   "
            f"ratio floor/e2e {floor_rate / e2e_rate:.2f}x (target ≤ 3x, ≥ 500 msg/s)"
        )
        print("  CPU per message (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu_per_msg.items()))
        print(
            f"  latency @ {args.rate:.0f} msg/s offered: e2e p50 {statistics.median(lat) * ms:6.1f} ms  "
            f"p99 {pct(lat, 99) * ms:6.1f} ms (target p99 ≤ 50 ms)"
        )
        print(
            f"                              floor p50 {statistics.median(floor_lat) * ms:6.1f} ms  "
            f"p99 {pct(floor_lat, 99) * ms:6.1f} ms   ratio p99 {pct(lat, 99) / pct(floor_lat, 99):.1f}x"
        )
        print(
            f"  worker RSS: after warm-up {rss_start / 1024:.1f} MiB, after {args.messages} "
            f"{rss_mid / 1024:.1f} MiB, after {args.messages + n_lat} {rss_end / 1024:.1f} MiB, "
            f"peak {rss_peak / 1024:.1f} MiB; benchmark process peak {rss_kb(os.getpid(), 'VmHWM') / 1024:.1f} MiB"
        )
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        if node is not None:
            node.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
