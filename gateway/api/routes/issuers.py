"""Issuing associations: create, issue, amend, return, close and replace carnets."""

from fastapi import APIRouter

from gateway.api.routes.deps import BodyAmendment, BodyCreateCarnet, BodyReplace, Caller, Svc
from gateway.model import CarnetDocument

TAG = "issuing associations"
router = APIRouter(tags=[TAG])


@router.post("/v1/carnets", status_code=201, response_model=CarnetDocument)
def create_carnet(body: BodyCreateCarnet, caller: Caller, service: Svc) -> CarnetDocument:
    return service.issuers.create(caller, body.carnet, body.pin)


@router.post("/v1/carnets/{carnet_id:path}/issue", response_model=CarnetDocument)
def issue(carnet_id: str, caller: Caller, service: Svc) -> CarnetDocument:
    return service.issuers.issue(caller, carnet_id)


@router.post("/v1/carnets/{carnet_id:path}/amendments", response_model=CarnetDocument)
def amend(carnet_id: str, body: BodyAmendment, caller: Caller, service: Svc) -> CarnetDocument:
    return service.issuers.amend(caller, carnet_id, body)


@router.post("/v1/carnets/{carnet_id:path}/return", response_model=CarnetDocument)
def return_(carnet_id: str, caller: Caller, service: Svc) -> CarnetDocument:
    return service.issuers.close(caller, carnet_id, returned=True)


@router.post("/v1/carnets/{carnet_id:path}/close", response_model=CarnetDocument)
def close(carnet_id: str, caller: Caller, service: Svc) -> CarnetDocument:
    return service.issuers.close(caller, carnet_id, returned=False)


@router.post("/v1/carnets/{carnet_id:path}/replace", status_code=201, response_model=CarnetDocument)
def replace(carnet_id: str, body: BodyReplace, caller: Caller, service: Svc) -> CarnetDocument:
    return service.issuers.replace_with(caller, carnet_id, body.carnet, body.pin)
