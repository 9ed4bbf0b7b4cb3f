"""Refusals as HTTP problem documents (RFC 9457 shape, with our eTIR-style codes and pointers)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway.errors import Code, Problem, Refusal
from gateway.model.load import problems_from_validation

STATUS = {1: 422, 2: 409, 3: 422, 4: 500, 5: 502}
# 401 'not configured' is about the request (a kind or territory this gateway is not set up for): 422
SPECIFIC = {
    Code.NOT_AUTHORISED: 403,
    Code.CARNET_NOT_FOUND: 404,
    Code.UNREADABLE: 400,
    Code.DUPLICATE: 409,
    Code.NOT_CONFIGURED: 422,
}


def status_for(code: int) -> int:
    return SPECIFIC.get(code, STATUS.get(code // 100, 400))


def body(problems: tuple[Problem, ...] | list[Problem], status: int) -> dict[str, Any]:
    first = problems[0]
    return {
        "type": f"urn:eata:error:{first.code}",
        "title": first.title,
        "status": status,
        "detail": first.message,
        "problems": [p.as_dict() for p in problems],
    }


async def refusal_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    status = status_for(exc.code)
    return JSONResponse(body(exc.problems, status), status_code=status, media_type="application/problem+json")


async def validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if p != "body"]
        problems.append(
            Problem(
                Code.MISSING
                if err.get("type") == "missing"
                else Code.UNKNOWN_FIELD
                if err.get("type") == "extra_forbidden"
                else Code.BAD_VALUE,
                "/" + "/".join(str(p) for p in loc),
                str(err.get("msg", "invalid value")),
            )
        )
    if not problems:
        problems = [Problem(Code.UNREADABLE, "", "the request body could not be read")]
    return JSONResponse(body(problems, 422), status_code=422, media_type="application/problem+json")


__all__ = ["body", "problems_from_validation", "refusal_handler", "status_for", "validation_handler"]
