"""Run one worker process per partition and keep them running: ``eata-gateway worker --partitions N``.

SIGTERM/SIGINT are passed on to every child (each finishes its in-flight work); a child that dies on its
own is started again after a pause, doubled (up to a minute) each time it dies again within a minute of
starting — a configuration error (e.g. a partition count the broker refuses) does not spin. Returns 0 when
every child stopped cleanly after a signal.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType

RESTART_PAUSE = 1.0
MAX_PAUSE = 60.0


def supervise(children: Mapping[str, Sequence[str]], *, poll: float = 0.2) -> int:
    procs = {name: subprocess.Popen(list(cmd)) for name, cmd in children.items()}
    started = dict.fromkeys(procs, time.monotonic())
    pause = dict.fromkeys(procs, RESTART_PAUSE)
    due: dict[str, float] = {}  # name → when to start it again
    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    codes: dict[str, int] = {}
    while True:
        now = time.monotonic()
        for name, p in list(procs.items()):
            rc = p.poll()
            if rc is None:
                continue
            if stopping:
                codes[name] = rc
                continue
            if name not in due:
                quick = now - started[name] < MAX_PAUSE
                pause[name] = min(MAX_PAUSE, pause[name] * 2) if quick else RESTART_PAUSE
                due[name] = now + pause[name]
                print(
                    f"{name} exited with {rc}; starting it again in {pause[name]:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
            elif now >= due[name]:
                del due[name]
                procs[name] = subprocess.Popen(list(children[name]))
                started[name] = now
        if stopping and len(codes) == len(procs):
            return 0 if all(rc == 0 for rc in codes.values()) else 1
        time.sleep(poll)
