"""Issuing associations: create, issue, amend, return, close and replace carnets (shown as every
non-customs party sees them: rejections without their reasons, gateway/api/services/views.py)."""

from fastapi import APIRouter

from gateway.api.routes.deps import BodyAmendment, BodyCreateCarnet, BodyReplace, Caller, Svc
from gateway.api.services.views import CarnetView, carnet_view

TAG = "issuing associations"
router = APIRouter(tags=[TAG])


@router.post("/v1/carnets", status_code=201, response_model=CarnetView)
def create_carnet(body: BodyCreateCarnet, caller: Caller, service: Svc) -> CarnetView:
    return carnet_view(service.issuers.create(caller, body.carnet, body.pin), caller)


@router.post("/v1/carnets/{carnet_id:path}/issue", response_model=CarnetView)
def issue(carnet_id: str, caller: Caller, service: Svc) -> CarnetView:
    return carnet_view(service.issuers.issue(caller, carnet_id), caller)


@router.post("/v1/carnets/{carnet_id:path}/amendments", response_model=CarnetView)
def amend(carnet_id: str, body: BodyAmendment, caller: Caller, service: Svc) -> CarnetView:
    return carnet_view(service.issuers.amend(caller, carnet_id, body), caller)


@router.post("/v1/carnets/{carnet_id:path}/return", response_model=CarnetView)
def return_(carnet_id: str, caller: Caller, service: Svc) -> CarnetView:
    return carnet_view(service.issuers.close(caller, carnet_id, returned=True), caller)


@router.post("/v1/carnets/{carnet_id:path}/close", response_model=CarnetView)
def close(carnet_id: str, caller: Caller, service: Svc) -> CarnetView:
    return carnet_view(service.issuers.close(caller, carnet_id, returned=False), caller)


@router.post("/v1/carnets/{carnet_id:path}/replace", status_code=201, response_model=CarnetView)
def replace(carnet_id: str, body: BodyReplace, caller: Caller, service: Svc) -> CarnetView:
    return carnet_view(service.issuers.replace_with(caller, carnet_id, body.carnet, body.pin), caller)
