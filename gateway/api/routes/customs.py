"""Customs officers: cancel with the holder's code, record paper endorsements, read what was declared
to their territory. (National systems push their answers to the callback mounted at ``/customs``.)"""

from typing import Any

from fastapi import APIRouter, Request, Response

from gateway.api.contract import After, Limit, next_link
from gateway.api.routes.deps import BodyCancel, BodyEndorsement, Caller, Svc
from gateway.model import Transaction

TAG = "customs"
router = APIRouter(tags=[TAG])


@router.post("/v1/customs/transactions/{carnet_id:path}/{transaction_id}/cancel", response_model=Transaction)
def cancel(
    carnet_id: str, transaction_id: str, body: BodyCancel, caller: Caller, service: Svc
) -> Transaction:
    return service.customs.cancel(caller, carnet_id, transaction_id, body.code, body.reason)


@router.post(
    "/v1/customs/transactions/{carnet_id:path}/{transaction_id}/paper-endorsement",
    response_model=Transaction,
)
def reconcile(
    carnet_id: str, transaction_id: str, body: BodyEndorsement, caller: Caller, service: Svc
) -> Transaction:
    """Record what customs stamped on the paper voucher during a paper fallback."""
    return service.customs.reconcile(caller, carnet_id, transaction_id, body)


@router.get("/v1/customs/events")
def customs_events(
    caller: Caller,
    request: Request,
    response: Response,
    service: Svc,
    after: After = 0,
    limit: Limit = 500,
) -> list[dict[str, Any]]:
    """The events of the caller's territory, ``limit`` (1–500) after the event ID ``after``; a ``Link``
    header with ``rel="next"`` while there may be more."""
    page = service.customs.customs_transactions(caller, after=after, limit=limit)
    next_link(request, response, page, limit)
    return page


@router.get("/v1/customs/transactions")
def customs_history(
    caller: Caller,
    request: Request,
    response: Response,
    service: Svc,
    carnet_id: str | None = None,
    after: str = "",
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The vouchers declared to the caller's territory (optionally of one carnet), each with the
    rejections its own customs gave, oldest first, kept through later submissions and the commit; only
    those customs read the reasons. ``limit`` (1–500, default 50) per page in the order the vouchers
    first reached customs; while there are more, a ``Link`` header with ``rel="next"`` carries the opaque
    cursor to pass as ``after`` (a changed one is refused, 103 at ``/after``)."""
    page, nxt = service.customs.customs_page(caller, carnet_id=carnet_id, after=after[:200], limit=limit)
    if nxt is not None:
        link = request.url.include_query_params(after=nxt, limit=limit)
        response.headers["Link"] = f'<{link.path}?{link.query}>; rel="next"'
    return page


@router.get("/v1/customs/transactions/{carnet_id:path}/{transaction_id}")
def customs_transaction(carnet_id: str, transaction_id: str, caller: Caller, service: Svc) -> dict[str, Any]:
    """One voucher declared to the caller's territory, with its rejection history; 404 otherwise."""
    return service.customs.customs_history(caller, carnet_id=carnet_id, transaction_id=transaction_id)[0]
