"""Helpers for relay tests, and delivery callables for worker subprocesses (``--deliver relay_helpers:slow``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.relay.envelope import Envelope
from gateway.relay.outcome import Done, Outcome
from gateway.relay.sink import deliver as sink_deliver
from gateway.relay.worker import Worker

HERE = Path(__file__).parent


def slow(env: Envelope) -> Outcome:
    """Takes a while, so SIGTERM lands mid-delivery; then delivers to the sink."""
    time.sleep(0.05)
    return sink_deliver(env)


def done(env: Envelope) -> Outcome:
    return Done(None)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    root = str(HERE.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, str(HERE), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    try:
        yield worker
    finally:
        worker.stop()
        t.join(30)
        assert not t.is_alive(), "worker did not stop"
