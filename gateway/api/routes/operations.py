"""Operators: liveness, readiness and Prometheus metrics (no API key: for probes and scrapers)."""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from gateway import __version__
from gateway.api.routes.deps import metrics_of

TAG = "operations"
router = APIRouter(tags=[TAG])
ReadyCheck = Callable[[], str | None]  # None when healthy, else a reason


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, ReadyCheck] = request.app.state.ready_checks
    failures = {name: why for name, check in checks.items() if (why := check())}
    return JSONResponse({"ready": not failures, "failures": failures}, status_code=503 if failures else 200)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics_text(request: Request) -> PlainTextResponse:
    return PlainTextResponse(metrics_of(request).render(), media_type="text/plain; version=0.0.4")
