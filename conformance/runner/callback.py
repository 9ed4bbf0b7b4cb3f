"""Where REST customs push their decisions during a run: every pushed document kept as received, per territory.

The gateway's own callback inbox decodes and de-duplicates; the runner needs the raw bytes (evidence) and
every arrival, including a second answer under a reused message ID (the 299 of duplicate-message).
"""

from __future__ import annotations

import threading
from collections import defaultdict

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


class Pushes:
    def __init__(self) -> None:
        self._docs: dict[str, list[bytes]] = defaultdict(list)
        self._arrived = threading.Condition()

    def add(self, territory: str, document: bytes) -> None:
        with self._arrived:
            self._docs[territory.upper()].append(document)
            self._arrived.notify_all()

    def mark(self, territory: str) -> int:
        with self._arrived:
            return len(self._docs[territory.upper()])

    def since(self, territory: str, mark: int, timeout: float) -> list[bytes]:
        """Documents pushed for ``territory`` after ``mark``, waiting up to ``timeout`` for the first."""
        code = territory.upper()
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._docs[code]) > mark, timeout)
            return list(self._docs[code][mark:])


def pushes_app(pushes: Pushes) -> FastAPI:
    app = FastAPI(title="conformance callback", docs_url=None, redoc_url=None)

    @app.post("/callback/{territory}")
    async def receive(territory: str, request: Request) -> Response:
        pushes.add(territory, await request.body())
        return JSONResponse({"received": True})

    return app
