"""Refusals as HTTP problem documents (RFC 9457 shape, with our eTIR-style codes and pointers)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

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


async def http_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (no such route, method not allowed, …) as problem documents with a code."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        problem = Problem(Code.BAD_VALUE, "/path", f"there is nothing at {request.url.path}")
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        problem = Problem(
            Code.BAD_VALUE,
            "/method",
            f"{request.method} is not allowed here" + (f"; use {allowed}" if allowed else ""),
        )
    else:
        problem = Problem(Code.UNREADABLE, "", str(exc.detail))
    return JSONResponse(
        body([problem], exc.status_code),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type="application/problem+json",
    )


async def internal_handler(_request: Request, _exc: Exception) -> JSONResponse:
    """Anything unforeseen: a 500 problem that says nothing of the internals (the log has the traceback)."""
    problem = Problem(Code.INTERNAL, "", "the gateway could not handle this request; it has been logged")
    return JSONResponse(body([problem], 500), status_code=500, media_type="application/problem+json")


async def store_value_handler(_request: Request, _exc: Exception) -> JSONResponse:
    """A value the database cannot hold (PostgreSQL refuses NUL characters and strings longer than their
    column; SQLite would have kept them): the caller's input, a 400 — never a 500."""
    problem = Problem(
        Code.BAD_VALUE, "", "a value in this request cannot be stored: a NUL character, or too long"
    )
    return JSONResponse(body([problem], 400), status_code=400, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    """The problem handlers every app of the gateway uses (the API and the customs callback)."""
    from sqlalchemy.exc import DataError

    app.add_exception_handler(Refusal, refusal_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(HTTPException, http_handler)
    app.add_exception_handler(DataError, store_value_handler)
    app.add_exception_handler(Exception, internal_handler)


__all__ = [
    "body",
    "http_handler",
    "install",
    "internal_handler",
    "problems_from_validation",
    "refusal_handler",
    "status_for",
    "validation_handler",
]
