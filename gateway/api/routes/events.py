"""Real-time confirmation for holders and customs: the events (a page, or server-sent events) and
webhook subscriptions that push them."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from enum import Enum
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from gateway.api import bodies as b
from gateway.api.contract import After, Limit, next_link
from gateway.api.routes.deps import BodyWebhook, Caller, Svc
from gateway.errors import Code, refuse

TAGS: list[str | Enum] = ["holders", "customs"]  # APIRouter takes tags as str or Enum
router = APIRouter(tags=TAGS)
SSE_PING_S = 15  # a ": ping" comment line keeps proxies from closing a quiet stream
SSE_POLL_S = 2.0  # events committed by another replica are read within this
SSE_SEND_TIMEOUT_S = 30.0  # a client that stops reading is dropped


@router.get("/v1/events", responses={200: {"content": {"text/event-stream": {}}}})
async def events(
    caller: Caller,
    request: Request,
    service: Svc,
    after: After = 0,
    limit: Limit = 500,
    wait_s: float = 0.0,
) -> Response:
    """Events of the caller's carnets (customs: of its territory), ``limit`` (1–500) after the event ID
    ``after``, with a ``Link`` header (``rel="next"``) while there may be more. ``wait_s`` > 0 streams
    them as SSE."""

    def fetch(since: int) -> list[dict[str, Any]]:
        return service.events.events_for(caller, after=since, limit=limit)

    if wait_s <= 0:
        page = fetch(after)
        answer = JSONResponse(page)
        next_link(request, answer, page, limit)
        return answer
    wait_s = min(wait_s, 300.0)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        since, deadline = after, time.monotonic() + wait_s
        while (left := deadline - time.monotonic()) > 0:
            mark = service.events.mark()  # before reading: a commit meanwhile rings after it
            page = await asyncio.to_thread(fetch, since)
            for e in page:
                since = e["id"]
                yield ServerSentEvent(json.dumps(e), id=str(e["id"]), event=e["kind"], sep="\n")
            if len(page) < limit:  # a full page: read on at once
                # woken by this process's commits; other replicas' events are read on the slower poll
                await service.events.wait_for_more(mark, min(left, SSE_POLL_S))

    # keep-alive comments every SSE_PING_S; a client that goes away ends the stream (sse-starlette)
    return EventSourceResponse(stream(), ping=SSE_PING_S, sep="\n", send_timeout=SSE_SEND_TIMEOUT_S)


@router.post("/v1/webhooks", status_code=201, response_model=b.Webhook)
def subscribe(body: BodyWebhook, caller: Caller, service: Svc) -> b.Webhook:
    """Push the caller's events of the chosen kinds to a public URL, in order, at least once, with the
    Standard Webhooks headers: ``webhook-id`` (the same on a retry), ``webhook-timestamp`` and
    ``webhook-signature`` (``v1,`` base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the secret
    returned here, once). At most 20 subscriptions per party (409, code 212)."""
    return b.Webhook(**service.events.subscribe(caller, str(body.url), list(body.events)))


@router.get("/v1/webhooks")
def subscriptions(
    caller: Caller, request: Request, response: Response, service: Svc, after: str = "", limit: int = 50
) -> list[dict[str, Any]]:
    """The caller's subscriptions in ID order, ``limit`` (1–100) after the ID ``after``; a ``Link``
    header with ``rel="next"`` when there may be more."""
    if not 1 <= limit <= 100:
        raise refuse(Code.BAD_VALUE, "/limit", "ask for 1 to 100 subscriptions at a time")
    page = service.events.subscriptions(caller, after=after[:64], limit=limit)
    if len(page) == limit:
        nxt = request.url.include_query_params(after=page[-1]["id"], limit=limit)
        response.headers["Link"] = f'<{nxt.path}?{nxt.query}>; rel="next"'
    return page


@router.delete("/v1/webhooks/{hook_id}", status_code=204)
def unsubscribe(hook_id: str, caller: Caller, service: Svc) -> Response:
    service.events.unsubscribe(caller, hook_id)
    return Response(status_code=204)
