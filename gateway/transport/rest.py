"""REST delivery, CDS-like: signed XML POSTed with an OAuth 2.0 bearer token, acknowledged with 202.

The decision is not in the answer: customs pushes it to the gateway's callback URL (``X-Callback-Url``,
see :mod:`gateway.api.callback`) and it can also be fetched with :func:`query_status`. The token
comes from the client-credentials grant and is cached per territory until shortly before it expires; a
401 on the API drops it and retries once with a fresh one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from gateway.errors import Code
from gateway.transport import lean as _lean
from gateway.transport.base import (
    Delivered,
    FinalFailure,
    Outcome,
    RetryableFailure,
    from_exception,
    from_status,
    http_client,
)

if TYPE_CHECKING:
    from gateway.adapter_spec import Adapter
    from gateway.settings import Link

EXPIRY_MARGIN = 30.0  # seconds: renew before the token lapses in flight
ANSWER_LIMIT = 16 * 1024 * 1024  # bytes of an answer read at most (as SOAP answers)


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float


class TokenCache:
    """Client-credentials tokens per (token URL, client id); one fetch at a time per key."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._tokens: dict[tuple[str, str], Token] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.fetches = 0

    def get(self, adapter: Adapter, client: httpx.Client, link: Link) -> Token | Outcome:
        url, (cid, secret) = link.token_url or "", link.credentials
        key = (url, cid)
        with self._lock:
            token = self._tokens.get(key)
            if token and token.expires_at - EXPIRY_MARGIN > self._clock():
                return token
            scope = adapter.oauth.scope if adapter.oauth else ""
            try:
                r = client.post(
                    url,
                    data={"grant_type": "client_credentials", "scope": scope},
                    auth=(cid, secret),
                    headers={"Accept": "application/json"},
                )
            except httpx.HTTPError as exc:
                return from_exception(exc)
            self.fetches += 1
            if r.status_code != 200:
                outcome = from_status(r.status_code, r.text)
                if isinstance(outcome, FinalFailure):
                    return FinalFailure(Code.NOT_AUTHORISED, f"token refused: HTTP {r.status_code}")
                return outcome
            try:
                body = r.json()
                token = Token(body["access_token"], self._clock() + float(body.get("expires_in", 3600)))
            except (ValueError, KeyError, TypeError):
                return RetryableFailure(Code.CUSTOMS_FAULT, "token endpoint answered without an access_token")
            self._tokens[key] = token
            return token

    def drop(self, link: Link) -> None:
        with self._lock:
            self._tokens.pop((link.token_url or "", link.credentials[0]), None)


TOKENS = TokenCache()


def _link(adapter: Adapter, link: Link | None) -> Link:
    from gateway.settings import current

    return link or current().link(adapter)


def submit(
    adapter: Adapter,
    document: bytes,
    message_id: str,
    *,
    link: Link | None = None,
    tokens: TokenCache = TOKENS,
    lean: bool = False,
) -> Outcome:
    """POST one signed document to ``<endpoint>/declarations`` (no retries here); ``link`` (else the
    current settings') says where. ``lean``: the POST over :mod:`gateway.transport.lean` (the relay's
    hot path); the token still comes over the shared httpx client."""
    link = _link(adapter, link)
    client = http_client(adapter)
    for fresh in (False, True):
        token = tokens.get(adapter, client, link)
        if not isinstance(token, Token):
            return token
        url = f"{link.endpoint}/declarations"
        headers = {
            "Content-Type": "application/xml",
            "Accept": "application/json",
            "Authorization": f"Bearer {token.value}",
            "X-Message-ID": message_id,
            "X-Callback-Url": link.callback_url,
        }
        try:
            if lean:
                reply = _lean.post(adapter, url, document, headers, limit=ANSWER_LIMIT)
                r = httpx.Response(reply.status, headers=reply.headers, content=reply.content)
            else:
                r = client.post(url, content=document, headers=headers)
        except _lean.TooLarge as exc:
            return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answer not read: {exc}")
        except httpx.HTTPError as exc:
            return from_exception(exc)
        if r.status_code == 401 and not fresh:
            tokens.drop(link)  # revoked or expired early: one more try with a new token
            continue
        return _answer(r)
    return FinalFailure(Code.NOT_AUTHORISED, "customs refused a freshly issued token")


def _answer(r: httpx.Response) -> Outcome:
    if r.status_code == 202:
        ack = r.headers.get("X-Conversation-ID")
        if not ack:
            try:
                ack = r.json().get("conversationId")
            except ValueError:
                ack = None
        return Delivered(None, ack)
    if r.status_code == 200 and r.content:
        return Delivered(r.content, r.headers.get("X-Conversation-ID"))
    refused = (
        _problem(r) if 400 <= r.status_code < 500 and r.status_code not in (401, 403, 408, 429) else None
    )
    return refused or from_status(r.status_code, r.text)


def _problem(r: httpx.Response) -> FinalFailure | None:
    """A refusal with a problem document (``{"problems": [{"code", "pointer", "message"}]}``) keeps
    customs' own code and pointer instead of a generic 510."""
    try:
        first = r.json()["problems"][0]
        code, where, message = int(first["code"]), first.get("pointer"), str(first["message"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    at = f" at {where}" if where else ""
    return FinalFailure(code, f"customs refused the document{at}: {message}")


def query_status(
    adapter: Adapter, message_id: str, *, link: Link | None = None, tokens: TokenCache = TOKENS
) -> Outcome:
    """GET the decision: Delivered(answer bytes) once decided, Delivered(None) while pending."""
    link = _link(adapter, link)
    client = http_client(adapter)
    token = tokens.get(adapter, client, link)
    if not isinstance(token, Token):
        return token
    try:
        r = client.get(
            f"{link.endpoint}/declarations/{message_id}",
            headers={"Authorization": f"Bearer {token.value}", "Accept": "application/xml"},
        )
    except httpx.HTTPError as exc:
        return from_exception(exc)
    if r.status_code == 202:
        return Delivered(None, message_id)
    return _answer(r)
