"""Run an ASGI app (a simulator, the callback inbox) on a free loopback port in a thread, for tests and demos.

Example: ``with start_simulator(["CH", "GB"], keys_dir=pki) as sim:`` then point adapters at ``sim.url``
(``EATA_SIMULATOR_URL``); leaving the block stops the server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from conformance.simulators.app import Simulator, create_app
from gateway.adapter_spec import Adapter


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    """A server running in a daemon thread; ``stop()`` (or leaving the ``with``) shuts it down."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str
    app: Any

    @property
    def sim(self) -> Simulator:
        return self.app.state.sim

    def control(self, method: str, path: str, **kw: Any) -> Any:
        with httpx.Client(base_url=self.url, timeout=5.0, trust_env=False) as c:
            r = c.request(method, f"/_control/{path}", **kw)
            r.raise_for_status()
            return r.json()

    def set_faults(self, profile: str) -> None:
        self.control("POST", "faults", json={"profile": profile})

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> Running:
    port = port or free_port(host)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    # uvicorn installs no signal handlers off the main thread (Server.capture_signals)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.01)
    return Running(server, thread, f"http://{host}:{port}", app)


def start_simulator(
    territories: Iterable[str | Adapter] | None = None,
    *,
    keys_dir: str | Path,
    faults: str = "",
    callback_url: str | None = None,
    port: int | None = None,
    **kw: Any,
) -> Running:
    """A simulator of ``territories`` (default: all 30) on a free loopback port, in a thread."""
    app = create_app(territories, keys_dir=keys_dir, faults=faults, callback_url=callback_url, **kw)
    return serve_in_thread(app, port=port)
