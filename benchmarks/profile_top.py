"""Top costs from a ``py-spy record --format raw`` file (what ``benchmarks/relay.py --profile DIR`` writes).

    python benchmarks/profile_top.py DIR/worker.txt [--cpu-ms 6.3] [--top 25] [--depth-filter gateway]

Per function: *inclusive* share (stacks it appears in, counted once per stack) and *self* share (the
innermost frame) of all non-idle samples. With ``--cpu-ms`` (the CPU per message the benchmark printed for
that process) each share is also given in ms per message.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "/lib/python3", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{m.group('fn')} ({file})"


# Phases of a relayed message, by the innermost of these frames in a sample's stack (first match wins).
PHASES: tuple[tuple[str, str], ...] = (
    ("encode_for (", "encode: translate + XSD + sign"),
    ("read_answer (", "answer: verify + translate back"),
    ("model_validate_json (", "body JSON → declaration model"),
    ("submit (gateway/transport/soap.py)", "SOAP call: envelope + HTTP + answer parse"),
    ("OperationProxy.__call__ (zeep", "SOAP call: envelope + HTTP + answer parse"),
    ("Store.claim (", "relay store: dedup + carnet hold"),
    ("Store.claim_many (", "relay store: dedup + carnet hold"),
    ("Store.finish (", "relay store: record outcome + release"),
    ("Store.finish_many (", "relay store: record outcome + release"),
    ("Store.unpark_many (", "relay store: record outcome + release"),
    ("_Publishing.publish (", "result event publish (confirmed)"),
    ("_Confirms.send (", "result event publish (confirmed)"),
    ("ConfirmChannel._publish_batch (", "result event publish (confirmed)"),
    ("ConfirmChannel._on_confirm (", "result event publish (confirmed)"),
    ("Worker._ack (", "ack (consumer thread)"),
    ("_ack.<locals>._do (", "ack (consumer thread)"),
    ("Worker._consume (", "AMQP consume loop (pika)"),
    ("IOLoop.start (pika", "result event publish (confirmed)"),  # the confirm channel's ioloop thread
    ("Worker._lane (", "delivery lane, other"),
)


def phases(path: Path) -> tuple[Counter[str], int]:
    out: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_name(f) for f in stack.split(";")]
        label = "other (threads, GC, startup)"
        for frame in reversed(frames):
            hit = next((lab for marker, lab in PHASES if frame.startswith(marker) or marker in frame), None)
            if hit:
                label = hit
                break
        out[label] += n
    return out, total


def load(path: Path) -> tuple[Counter[str], Counter[str], int]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_name(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    return inclusive, own, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--cpu-ms", type=float, default=None, help="the process's CPU ms per message")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--match", default="", help="only functions whose name or file contains this")
    args = ap.parse_args()
    inclusive, own, total = load(args.file)
    if not total:
        raise SystemExit(f"{args.file}: no samples")

    def ms(n: int) -> str:
        return f"{n / total * args.cpu_ms:6.2f} ms" if args.cpu_ms else ""

    print(f"{args.file}: {total} samples")
    grouped, _ = phases(args.file)
    print("-- by phase")
    for label, n in grouped.most_common():
        print(f"  {n / total:6.1%} {ms(n)}  {label}")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"-- {title}")
        rows = [(f, n) for f, n in counts.most_common() if args.match in f][: args.top]
        for f, n in rows:
            print(f"  {n / total:6.1%} {ms(n)}  {f}")


if __name__ == "__main__":
    main()
