"""Reconnecting to a broker that is away: exponential back-off with jitter, one log line per attempt.

An expected connection loss (broker restarting, node down, network cut) is not an error of ours: the loops
say so in one line each attempt, with the delay before the next, and pika's own ERROR lines and
tracebacks about the same failed connection are silenced (``quiet_pika``).
"""

from __future__ import annotations

import logging
import random

_PIKA_LOGGERS = ("pika",)


class Backoff:
    """Delays ``first``, ``first·factor``, … capped at ``cap``, each ±``jitter`` (so replicas spread out)."""

    def __init__(
        self, first: float = 0.5, cap: float = 30.0, factor: float = 2.0, jitter: float = 0.2
    ) -> None:
        self.first, self.cap, self.factor, self.jitter = first, cap, factor, jitter
        self.attempts = 0

    def next(self) -> float:
        base = min(self.cap, self.first * self.factor**self.attempts)
        self.attempts += 1
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))

    def reset(self) -> None:
        self.attempts = 0


def reason(exc: BaseException) -> str:
    """A one-line reason: pika wraps the socket error it met (often several levels deep)."""
    seen: BaseException = exc
    for _ in range(8):
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        inner = inner or getattr(seen, "exception", None)  # pika's connector errors keep the socket's here
        if not isinstance(inner, BaseException):
            break
        seen = inner
    text = str(seen) or str(exc) or type(exc).__name__
    if isinstance(seen, OSError) and seen.strerror:
        text = seen.strerror  # "Connection refused", "Name or service not known", …
    return " ".join(text.split())[:200]


def quiet_pika() -> None:
    """pika logs every failed connection at ERROR with a traceback; our loops log one line instead. Set
    ``EATA_PIKA_LOG=1`` to see pika's own lines again when debugging the broker connection itself."""
    from gateway.settings import current

    if current().pika_log:
        return
    for name in _PIKA_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
