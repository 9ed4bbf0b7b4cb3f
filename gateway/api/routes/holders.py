"""Holders: download with the PIN, sign, plan travels, prepare, submit and follow transactions, share.

``GET /v1/carnets/{carnet_id}`` (holders and issuing associations) comes last: its ``{carnet_id:path}``
would swallow every other ``GET`` under the carnet.
"""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from gateway.api import bodies as b
from gateway.api.contract import After, Limit, next_link
from gateway.api.routes.deps import (
    BodyDownload,
    BodyPrepareTransaction,
    BodyShare,
    BodySignCarnet,
    BodyTravel,
    Caller,
    IfMatch,
    Svc,
    etag,
    metrics_of,
)
from gateway.api.services.views import CarnetView, carnet_view
from gateway.errors import Code, refuse
from gateway.model import Transaction, Travel
from gateway.paper.qr import qr_image, qr_payload

TAG = "holders"
router = APIRouter(tags=[TAG])
QR_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


@router.post("/v1/carnets/{carnet_id:path}/download", response_model=CarnetView)
async def download(carnet_id: str, body: BodyDownload, caller: Caller, service: Svc) -> CarnetView:
    """The carnet for the holder who knows its PIN: five wrong tries per caller and 20 per carnet in
    15 minutes, then 429; the PIN check runs on its own threads so guesses cannot stall the API."""
    return carnet_view(await service.holders.download_async(caller, carnet_id, body.pin), caller)


@router.post("/v1/carnets/{carnet_id:path}/signature", response_model=CarnetView)
def sign(carnet_id: str, body: BodySignCarnet, caller: Caller, service: Svc) -> CarnetView:
    return carnet_view(service.holders.sign(caller, carnet_id, body.signer), caller)


@router.post("/v1/carnets/{carnet_id:path}/travels", status_code=201, response_model=Travel)
def create_travel(
    carnet_id: str, body: BodyTravel, caller: Caller, response: Response, service: Svc
) -> Travel:
    saved = service.holders.put_travel(caller, carnet_id, body, None, create=True)
    response.headers["ETag"] = f'"{saved.version}"'
    return saved


@router.get("/v1/carnets/{carnet_id:path}/travels/{travel_id}", response_model=Travel)
def get_travel(carnet_id: str, travel_id: str, caller: Caller, response: Response, service: Svc) -> Travel:
    found = service.holders.travel(caller, carnet_id, travel_id)
    response.headers["ETag"] = f'"{found.version}"'
    return found


@router.put("/v1/carnets/{carnet_id:path}/travels/{travel_id}", response_model=Travel)
def put_travel(
    carnet_id: str,
    travel_id: str,
    body: BodyTravel,
    caller: Caller,
    response: Response,
    service: Svc,
    if_match: IfMatch = None,
) -> Travel:
    if body.travel_id != travel_id:
        raise refuse(Code.BAD_VALUE, "/travel_id", "the travel ID in the body differs from the URL")
    saved = service.holders.put_travel(caller, carnet_id, body, etag(if_match), create=False)
    response.headers["ETag"] = f'"{saved.version}"'
    return saved


@router.delete("/v1/carnets/{carnet_id:path}/travels/{travel_id}", status_code=204)
def delete_travel(
    carnet_id: str, travel_id: str, caller: Caller, service: Svc, if_match: IfMatch = None
) -> Response:
    service.holders.delete_travel(caller, carnet_id, travel_id, etag(if_match))
    return Response(status_code=204)


@router.post("/v1/carnets/{carnet_id:path}/transactions", status_code=201, response_model=Transaction)
def prepare(carnet_id: str, body: BodyPrepareTransaction, caller: Caller, service: Svc) -> Transaction:
    return service.holders.prepare(caller, carnet_id, body.model_dump(mode="json", exclude_none=True))


@router.get(
    "/v1/carnets/{carnet_id:path}/transactions/{transaction_id}/qr.{fmt}",
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
def qr(carnet_id: str, transaction_id: str, fmt: str, caller: Caller, service: Svc) -> Response:
    if fmt not in QR_TYPES:
        raise refuse(Code.BAD_VALUE, "/fmt", "QR codes come as png or svg")
    doc, tx = service.holders.transaction(caller, carnet_id, transaction_id)
    payload = qr_payload(doc.carnet.carnet_id, tx.transaction_code)  # IDs only, never data
    return Response(qr_image(payload, fmt, scale=6), media_type=QR_TYPES[fmt])


@router.post(
    "/v1/carnets/{carnet_id:path}/transactions/{transaction_id}/submit",
    status_code=202,
    response_model=b.Tracking,
)
def submit(carnet_id: str, transaction_id: str, caller: Caller, request: Request, service: Svc) -> b.Tracking:
    tracking = service.holders.submit(caller, carnet_id, transaction_id)
    metrics_of(request).submitted(caller, transaction_id)
    return b.Tracking(tracking_id=tracking)


@router.get("/v1/carnets/{carnet_id:path}/transactions/{transaction_id}/timeline")
def timeline(
    carnet_id: str,
    transaction_id: str,
    caller: Caller,
    request: Request,
    response: Response,
    service: Svc,
    after: After = 0,
    limit: Limit = 500,
) -> list[dict[str, Any]]:
    """The transaction's events, oldest first: ``limit`` (1–500) after the event ID ``after``; a
    ``Link`` header with ``rel="next"`` while there may be more."""
    page = service.holders.timeline(caller, carnet_id, transaction_id, after=after, limit=limit)
    next_link(request, response, page, limit)
    return page


@router.post(
    "/v1/carnets/{carnet_id:path}/travels/{travel_id}/shares", status_code=201, response_model=b.ShareLink
)
def share(carnet_id: str, travel_id: str, body: BodyShare, caller: Caller, service: Svc) -> b.ShareLink:
    link, expires = service.holders.share(caller, carnet_id, travel_id, list(body.transactions), body.ttl_s)
    return b.ShareLink(link=link, expires=datetime.fromtimestamp(expires, UTC).isoformat())


@router.get("/v1/carnets/{carnet_id:path}", response_model=CarnetView, tags=["issuing associations"])
def get_carnet(carnet_id: str, caller: Caller, service: Svc) -> CarnetView:
    """The carnet for its holder, issuing association or an auditor: rejections show only that customs
    of a territory refused the voucher, never why (only those customs read the reason)."""
    return carnet_view(service.carnets.carnet(caller, carnet_id)[0], caller)
