"""Representatives: the vouchers a holder shared with them, through the link."""

from typing import Any

from fastapi import APIRouter

from gateway.api.routes.deps import Caller, Svc

TAG = "representatives"
router = APIRouter(tags=[TAG])


@router.get("/v1/shared/{link}")
def shared(link: str, caller: Caller, service: Svc) -> dict[str, Any]:
    return service.representatives.shared(caller, link)
