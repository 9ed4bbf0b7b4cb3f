"""What SOAP and REST deliveries share: outcomes, pooled HTTP clients, failure classification, retries.

Outcomes are what the relay worker acts on: :class:`Delivered` (done; maybe with customs' answer),
:class:`RetryableFailure` (customs unreachable, slow or failing: try again later, 503/504/500) and
:class:`FinalFailure` (refused for good: 4xx, SOAP client fault, untrustworthy answer → dead letter).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import httpx

from gateway.errors import Code

if TYPE_CHECKING:
    from gateway.adapter_spec import Adapter
    from gateway.messages import Response


@dataclass(frozen=True, slots=True)
class Delivered:
    """Customs took the document. ``response``: its signed answer when it answered at once (SOAP), else
    None (acknowledged; the decision comes to the callback or by status query). ``message``: the verified,
    decoded answer (filled by :func:`gateway.adapters.delivery.deliver`)."""

    response: bytes | None
    ack_id: str | None = None
    message: Response | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class RetryableFailure:
    code: int
    reason: str
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class FinalFailure:
    code: int
    reason: str
    attempts: int = 1


Outcome = Delivered | RetryableFailure | FinalFailure

_clients: dict[tuple[object, ...], httpx.Client] = {}
_clients_lock = threading.Lock()


def http_client(adapter: Adapter) -> httpx.Client:
    """One pooled client per timeout/TLS setting, shared by threads (httpx.Client is thread-safe)."""
    t = adapter.timeouts
    key = (t.connect, t.read, adapter.tls_client_cert)
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.is_closed:
            client = httpx.Client(
                timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.connect),
                verify=_tls(adapter.tls_client_cert),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
                follow_redirects=False,  # a redirect is a configuration problem, not something to follow
                trust_env=False,  # no proxies from the environment: endpoints are configured explicitly
            )
            _clients[key] = client
        return client


def _tls(client_cert: str | None) -> ssl.SSLContext:
    """System trust for the server; plus our certificate and key (one PEM) when the territory wants mTLS."""
    context = ssl.create_default_context()
    if client_cert:
        context.load_cert_chain(client_cert)
    return context


def from_exception(exc: httpx.HTTPError) -> Outcome:
    """Network-level failures: all worth another try later."""
    if isinstance(exc, httpx.TimeoutException):
        return RetryableFailure(
            Code.CUSTOMS_TIMEOUT, f"customs did not answer in time ({type(exc).__name__})"
        )
    return RetryableFailure(Code.CUSTOMS_UNAVAILABLE, f"customs unreachable: {type(exc).__name__}: {exc}")


def from_status(status: int, detail: str = "") -> Outcome:
    """Non-success HTTP answers: 5xx/429 are transient, other 4xx are final."""
    text = f"HTTP {status}" + (f": {detail[:300]}" if detail else "")
    if status >= 500 or status in (408, 429):
        return RetryableFailure(Code.CUSTOMS_UNAVAILABLE, f"customs failing ({text})")
    if status in (401, 403):
        return FinalFailure(Code.NOT_AUTHORISED, f"customs refused our credentials ({text})")
    return FinalFailure(Code.CUSTOMS_REJECTED, f"customs refused the request ({text})")


def with_retries(
    adapter: Adapter, attempt: Callable[[], Outcome], sleep: Callable[[float], None] = time.sleep
) -> Outcome:
    """Run ``attempt`` until it is not retryable or the adapter's attempts are used, backing off between."""
    policy = adapter.retry
    outcome: Outcome = RetryableFailure(Code.INTERNAL, "not attempted")
    for n in range(1, policy.attempts + 1):
        outcome = replace(attempt(), attempts=n)
        if not isinstance(outcome, RetryableFailure):
            return outcome
        if n < policy.attempts:
            sleep(policy.delay(n))
    return outcome
