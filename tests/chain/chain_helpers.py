"""Helpers for chain tests (own module name: several test folders have a ``conftest``)."""

from __future__ import annotations

import time
from pathlib import Path

import pika

from conformance.testpki import make_test_pki

ROOT = Path(__file__).resolve().parents[2]


def make_pki(directory: Path, names: list[str]) -> None:
    make_test_pki(directory, [n.lower() for n in names])


# The journey's parties (examples/journey-no-eu-ch.json), the chain itself, and customs of CH.
PARTIES = ["NO-OCC", "CH-SCF", "DE-DIHK", "GB-LCCI", "WCF", "customs-CH", "customs-DE", "mallory"]


def purge(url: str, queues: list[str]) -> None:
    """Each test starts with empty party queues (the broker lives for the session)."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        for q in queues:
            ch.queue_purge(q)
    finally:
        conn.close()


def wait_for(cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
