"""The holders' refusals that are more than a problem document: 429 with ``Retry-After`` for PIN guesses,
428 and 412 (with the current ``ETag``) for travels changed without or against ``If-Match``."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.api import problems
from gateway.api.services.holders import PreconditionFailed, PreconditionRequired, TooManyAttempts
from gateway.errors import Code, refuse


async def _too_many(_r: Request, exc: TooManyAttempts) -> JSONResponse:
    body = problems.body(
        refuse(
            Code.NOT_AUTHORISED, "/pin", "too many wrong PINs for this carnet; wait and try again"
        ).problems,
        429,
    )
    return JSONResponse(
        body,
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
        media_type="application/problem+json",
    )


async def _428(_r: Request, _e: PreconditionRequired) -> JSONResponse:
    body = problems.body(
        refuse(Code.MISSING, "/If-Match", "send If-Match with the travel's ETag").problems, 428
    )
    return JSONResponse(body, status_code=428, media_type="application/problem+json")


async def _412(_r: Request, exc: PreconditionFailed) -> JSONResponse:
    body = problems.body(
        refuse(Code.DUPLICATE, "/If-Match", "another device changed this travel; reload it").problems, 412
    )
    return JSONResponse(
        body, status_code=412, headers={"ETag": f'"{exc.current}"'}, media_type="application/problem+json"
    )


def install(app: FastAPI) -> None:
    # Starlette types a handler as taking any Exception; each of ours takes the one class it is registered for.
    app.add_exception_handler(TooManyAttempts, _too_many)  # type: ignore[arg-type]
    app.add_exception_handler(PreconditionRequired, _428)  # type: ignore[arg-type]
    app.add_exception_handler(PreconditionFailed, _412)  # type: ignore[arg-type]
