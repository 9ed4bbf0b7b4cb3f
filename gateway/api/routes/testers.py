"""Integration testers: the dry-run translate and parse endpoints (nothing is sent, nothing verified)."""

from typing import Any

from fastapi import APIRouter, Request, Response

from gateway.api.routes.deps import BodyDryRunTranslate, Caller, Svc

TAG = "integration testers"
router = APIRouter(tags=[TAG])


@router.post("/v1/dry-run/translate", responses={200: {"content": {"application/xml": {}}}})
def dry_translate(body: BodyDryRunTranslate, caller: Caller, service: Svc) -> Response:
    """Translate one transaction of a carnet document to its national XML (unsigned), without sending it."""
    return Response(service.testers.dry_translate(body.document, body.index), media_type="application/xml")


@router.post(
    "/v1/dry-run/parse/{territory}",
    openapi_extra={
        "requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def dry_parse(territory: str, request: Request, caller: Caller, service: Svc) -> dict[str, Any]:
    """Read a national XML document into eATA JSON (no signature check), as the gateway would."""
    return service.testers.dry_parse(await request.body(), territory)
