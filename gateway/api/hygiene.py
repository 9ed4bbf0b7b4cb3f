"""HTTP hygiene for every answer, as one pure ASGI middleware (no request or response is buffered here).

- **Body size** — a request body larger than the limit is refused with 413 (code 111) while it is being
  read: a ``Content-Length`` above the limit is refused before a byte of the body is read, and a streamed
  (chunked) body is counted as it arrives and refused as soon as it passes the limit, so an oversize body
  never sits in memory. ``EATA_MAX_BODY`` (default 10 MiB) for the API, ``EATA_MAX_CALLBACK_BODY`` for the
  customs callback under ``/customs`` (default 8 MiB: a 5 MiB signed document, base64, in an envelope).
- **Security headers** on every answer: ``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``
  (unless the route set its own), ``X-Frame-Options: DENY`` with CSP ``frame-ancestors 'none'``,
  ``Referrer-Policy: no-referrer`` (share links travel in URLs), and HSTS when the request came over TLS —
  the ASGI scheme is ``https``, or ``X-Forwarded-Proto: https`` from a proxy in ``EATA_TRUSTED_PROXIES``.
- **Correlation IDs** — ``X-Correlation-ID`` is kept when it is 1 to 64 characters of ``A-Z a-z 0-9 . _ : -``
  and replaced by a fresh one otherwise (it is echoed in a header and written to the log).
- One log line per request, its fields as ``extra`` (JSON lines under ``serve``: :mod:`gateway.logs`;
  never bodies: PINs and keys travel in them).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import problems
from gateway.errors import Code, refuse

log = logging.getLogger("eata.api")

MiB = 1024 * 1024
DEFAULT_MAX_BODY = 10 * MiB
DEFAULT_MAX_CALLBACK_BODY = 8 * MiB
CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HSTS = "max-age=31536000; includeSubDomains"
_ALWAYS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("content-security-policy", "frame-ancestors 'none'"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
)


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    max_body: int = DEFAULT_MAX_BODY
    # path prefix → its own body limit, longest prefix first (the customs callback at /customs)
    limits: tuple[tuple[str, int], ...] = (("/customs/", DEFAULT_MAX_CALLBACK_BODY),)
    trusted_proxies: frozenset[str] = field(default_factory=lambda: frozenset({"127.0.0.1", "::1"}))

    @classmethod
    def from_settings(cls, settings: Any) -> HttpPolicy:
        return cls(
            max_body=settings.max_body,
            limits=(("/customs/", settings.max_callback_body),),
            trusted_proxies=frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip()),
        )

    def limit_for(self, path: str) -> int:
        for prefix, limit in sorted(self.limits, key=lambda p: -len(p[0])):
            if path.startswith(prefix):
                return limit
        return self.max_body

    def over_tls(self, scope: Scope, headers: Headers) -> bool:
        if scope.get("scheme") == "https":
            return True
        peer = (scope.get("client") or (None,))[0]
        forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return forwarded == "https" and peer in self.trusted_proxies


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body passes its limit; the middleware answers 413."""


class Hygiene:
    def __init__(self, app: ASGIApp, policy: HttpPolicy | None = None) -> None:
        self.app = app
        self.policy = policy or HttpPolicy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = Headers(scope=scope)
        cid = headers.get("x-correlation-id", "")
        if not CORRELATION_ID.fullmatch(cid):
            cid = uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = cid
        added = [*_ALWAYS, ("x-correlation-id", cid)]
        if self.policy.over_tls(scope, headers):
            added.append(("strict-transport-security", HSTS))
            scope["state"]["tls"] = True  # e.g. the callback's WSDL then names its https address
        limit = self.policy.limit_for(scope.get("path", ""))
        state = {"status": 0, "started": False, "over": False, "received": 0}

        async def send_with_headers(message: Message) -> None:
            if state["over"]:
                return  # the body passed its limit: whatever the app says now is replaced by the 413
            if message["type"] == "http.response.start":
                state["started"], state["status"] = True, message["status"]
                out = MutableHeaders(scope=message)
                for name, value in added:
                    if name == "x-correlation-id" or name not in out:
                        out[name] = value
            await send(message)

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge()
            return message

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                state["over"] = True  # refused before reading a byte of the body
            else:
                try:
                    await self.app(scope, counted, send_with_headers)
                except BodyTooLarge:
                    pass
                except Exception:
                    if not state["over"]:
                        raise
            if state["over"] and not state["started"]:
                state["over"] = False
                await self._too_large(send_with_headers, limit)
        finally:
            log.info(
                "request",
                extra={
                    "correlation_id": cid,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": state["status"],
                    "ms": round((time.perf_counter() - start) * 1e3, 2),
                },
            )

    @staticmethod
    async def _too_large(send: Send, limit: int) -> None:
        refusal = refuse(
            Code.TOO_LARGE, "/", f"the request body is larger than this endpoint accepts ({limit} bytes)"
        )
        data = json.dumps(problems.body(refusal.problems, 413)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"),  # the rest of the body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})
