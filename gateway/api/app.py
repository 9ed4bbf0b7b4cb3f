"""The FastAPI application: ``eata-gateway serve``.

:func:`create_app` assembles: one router per role (:mod:`gateway.api.routes`), the middleware, problem
documents, the operator console and the customs callback. Routes are thin; the role services of
:mod:`gateway.api.services` (composed by :class:`~gateway.api.service.Service`) decide.
"""

from fastapi import FastAPI

from gateway import __version__
from gateway.api import problems
from gateway.api.clientcert import ClientCertPolicy
from gateway.api.contract import install_contract
from gateway.api.docs import install_docs
from gateway.api.hygiene import HttpPolicy, Hygiene
from gateway.api.jsonbody import install_openapi
from gateway.api.metrics import Metrics
from gateway.api.routes import customs, errors, events, holders, issuers, operations, representatives, testers
from gateway.api.routes.operations import ReadyCheck
from gateway.api.service import Service
from gateway.api.settings import Settings
from gateway.console import ConsoleConfig, console_app
from gateway.console.certs import ExpiryCollector

__all__ = ["ReadyCheck", "create_app"]


def create_app(
    service: Service,
    *,
    ready_checks: dict[str, ReadyCheck] | None = None,
    callback: FastAPI | None = None,
    client_certs: ClientCertPolicy | None = None,
    http_policy: HttpPolicy | None = None,
    console: ConsoleConfig | None = None,
) -> FastAPI:
    app = FastAPI(
        title="eATA gateway",
        version=__version__,
        description="Interoperability gateway for electronic ATA carnets: issuing associations, holders, "
        "representatives, customs, the guarantee chain and operators. Every caller sends its API key in "
        "`X-API-Key`. Errors are problem documents with eTIR-style codes and JSON pointers.",
        docs_url=None,  # served from packaged assets below: nothing loaded from the internet
        redoc_url=None,
    )
    install_docs(app)
    metrics = Metrics()
    service.observers.append(metrics.answered)
    metrics.registry.register(ExpiryCollector(console.keys_dir if console else None))
    # what the routers find (gateway/api/routes/deps.py)
    app.state.service = service
    app.state.metrics = metrics
    app.state.client_certs = client_certs
    app.state.ready_checks = ready_checks or {}
    problems.install(app)  # refusals, validation, 404/405 and anything unforeseen as problem documents
    errors.install(app)  # 429 (PIN guesses), 428 and 412 (travel ETags)
    # outermost: body limits while reading, security headers, bounded correlation IDs, the log line
    app.add_middleware(Hygiene, policy=http_policy or HttpPolicy.from_settings(Settings()))

    for role in (issuers, holders, representatives, events, customs):
        app.include_router(role.router)
    if callback is not None:  # gateway-callback.wsdl (SOAP) and CDS-like REST pushes from customs
        app.mount("/customs", callback)
    app.mount("/console", console_app(service, console))  # the operator console (gateway/console)
    for role in (testers, operations):
        app.include_router(role.router)

    install_openapi(app)
    install_contract(app, callback=callback is not None)  # problems, security, paging, examples
    return app
