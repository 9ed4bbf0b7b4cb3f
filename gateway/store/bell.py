"""A bell rung when events are committed, so server-sent event streams wake at once instead of polling.

Writers (any thread) ``ring`` after their transaction commits; each ring bumps ``rung``. A stream notes
``rung`` *before* it reads the events, then ``wait``s for a later ring (or ``timeout``, its slower poll for
events another replica wrote): a ring between the read and the wait is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Bell:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.rung = 0

    def ring(self) -> None:
        with self._lock:
            self.rung += 1
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                loop.call_soon_threadsafe(event.set)

    async def wait(self, seen: int, timeout: float) -> bool:
        """Until the bell rings after ``seen`` (True) or ``timeout`` seconds pass (False)."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            if self.rung != seen:
                return True
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.discard(waiter)
