"""Real-time confirmation for holders and customs: the events (a page, or server-sent events) and
webhook subscriptions that push them."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from gateway.api import bodies as b
from gateway.api.contract import After, Limit, next_link
from gateway.api.routes.deps import BodyWebhook, Caller, Svc
from gateway.errors import Code, refuse

TAGS = ["holders", "customs"]
router = APIRouter(tags=TAGS)


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

    async def stream() -> AsyncIterator[str]:
        since, deadline = after, time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for e in await asyncio.to_thread(fetch, since):
                since = e["id"]
                yield f"id: {e['id']}\nevent: {e['kind']}\ndata: {json.dumps(e)}\n\n"
            await asyncio.sleep(0.2)

    return StreamingResponse(stream(), media_type="text/event-stream")


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
