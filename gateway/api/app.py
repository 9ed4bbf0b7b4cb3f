"""The FastAPI application: ``eata-gateway serve``. Routes are thin; :mod:`gateway.api.service` decides."""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from gateway import __version__
from gateway.api import bodies as b
from gateway.api import problems
from gateway.api.clientcert import ClientCertPolicy, read_forwarded
from gateway.api.contract import After, Limit, install_contract, next_link
from gateway.api.docs import install_docs
from gateway.api.hygiene import HttpPolicy, Hygiene
from gateway.api.jsonbody import install_openapi, json_body
from gateway.api.metrics import Metrics
from gateway.api.service import PreconditionFailed, PreconditionRequired, Service, TooManyAttempts
from gateway.api.settings import Settings
from gateway.console import ConsoleConfig, console_app
from gateway.console.certs import ExpiryCollector
from gateway.errors import Code, refuse
from gateway.messages import declaration_for
from gateway.model import Amendment, CarnetDocument, Endorsement, Transaction, Travel, load_document
from gateway.paper.qr import qr_image, qr_payload
from gateway.store.db import Party
from gateway.translate import from_bytes, to_bytes

log = logging.getLogger("eata.api")
ReadyCheck = Callable[[], str | None]  # None when healthy, else a reason


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
    app.state.metrics = metrics
    service.observers.append(metrics.answered)
    metrics.registry.register(ExpiryCollector(console.keys_dir if console else None))
    problems.install(app)  # refusals, validation, 404/405 and anything unforeseen as problem documents
    # outermost: body limits while reading, security headers, bounded correlation IDs, the log line
    app.add_middleware(Hygiene, policy=http_policy or HttpPolicy.from_settings(Settings()))

    @app.exception_handler(TooManyAttempts)
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

    @app.exception_handler(PreconditionRequired)
    async def _428(_r: Request, _e: PreconditionRequired) -> JSONResponse:
        body = problems.body(
            refuse(Code.MISSING, "/If-Match", "send If-Match with the travel's ETag").problems, 428
        )
        return JSONResponse(body, status_code=428, media_type="application/problem+json")

    @app.exception_handler(PreconditionFailed)
    async def _412(_r: Request, exc: PreconditionFailed) -> JSONResponse:
        body = problems.body(
            refuse(Code.DUPLICATE, "/If-Match", "another device changed this travel; reload it").problems, 412
        )
        return JSONResponse(
            body, status_code=412, headers={"ETag": f'"{exc.current}"'}, media_type="application/problem+json"
        )

    def party(
        request: Request,
        x_api_key: Annotated[str | None, Header(description="The caller's API key")] = None,
    ) -> Party:
        if x_api_key:
            found = service.db.party_by_key(x_api_key)
            if found is None:
                raise refuse(Code.NOT_AUTHORISED, "/X-API-Key", "a valid API key is required")
            return found
        forwarded = request.headers.get(client_certs.header) if client_certs else None
        if (
            client_certs
            and forwarded
            and client_certs.applies(request.client.host if request.client else None)
        ):
            where = f"/{client_certs.header}"
            sha256, subject = read_forwarded(forwarded, where)
            found = service.db.party_by_cert(sha256)
            if found is None:
                raise refuse(Code.NOT_AUTHORISED, where, f"no party is registered for certificate {subject}")
            return found
        raise refuse(Code.NOT_AUTHORISED, "/X-API-Key", "a valid API key (or client certificate) is required")

    Caller = Annotated[Party, Depends(party)]
    BodyEndorsement = json_body(Endorsement, after=party)
    BodyAmendment = json_body(Amendment, after=party)
    BodyCancel = json_body(b.Cancel, after=party)
    BodyCreateCarnet = json_body(b.CreateCarnet, after=party)
    BodyDownload = json_body(b.Download, after=party)
    BodyDryRunTranslate = json_body(b.DryRunTranslate, after=party)
    BodyPrepareTransaction = json_body(b.PrepareTransaction, after=party)
    BodyReplace = json_body(b.Replace, after=party)
    BodyShare = json_body(b.Share, after=party)
    BodySignCarnet = json_body(b.SignCarnet, after=party)
    BodyTravel = json_body(Travel, after=party)
    BodyWebhook = json_body(b.Subscribe, after=party)
    IfMatch = Annotated[str | None, Header(description="ETag of the travel being changed")]

    def etag(value: str | None) -> int | None:
        if value is None:
            return None
        try:
            return int(value.strip().strip("W/").strip('"'))
        except ValueError:
            raise refuse(Code.BAD_VALUE, "/If-Match", "If-Match must be the travel's ETag") from None

    # -- issuing associations ------------------------------------------------------------------
    @app.post("/v1/carnets", status_code=201, response_model=CarnetDocument, tags=["issuing associations"])
    def create_carnet(body: BodyCreateCarnet, caller: Caller) -> CarnetDocument:
        return service.create(caller, body.carnet, body.pin)

    @app.post(
        "/v1/carnets/{carnet_id:path}/issue", response_model=CarnetDocument, tags=["issuing associations"]
    )
    def issue(carnet_id: str, caller: Caller) -> CarnetDocument:
        return service.issue(caller, carnet_id)

    @app.post(
        "/v1/carnets/{carnet_id:path}/amendments",
        response_model=CarnetDocument,
        tags=["issuing associations"],
    )
    def amend(carnet_id: str, body: BodyAmendment, caller: Caller) -> CarnetDocument:
        return service.amend(caller, carnet_id, body)

    @app.post(
        "/v1/carnets/{carnet_id:path}/return", response_model=CarnetDocument, tags=["issuing associations"]
    )
    def return_(carnet_id: str, caller: Caller) -> CarnetDocument:
        return service.close(caller, carnet_id, returned=True)

    @app.post(
        "/v1/carnets/{carnet_id:path}/close", response_model=CarnetDocument, tags=["issuing associations"]
    )
    def close(carnet_id: str, caller: Caller) -> CarnetDocument:
        return service.close(caller, carnet_id, returned=False)

    @app.post(
        "/v1/carnets/{carnet_id:path}/replace",
        status_code=201,
        response_model=CarnetDocument,
        tags=["issuing associations"],
    )
    def replace(carnet_id: str, body: BodyReplace, caller: Caller) -> CarnetDocument:
        return service.replace_with(caller, carnet_id, body.carnet, body.pin)

    # -- holders -----------------------------------------------------------------------------------
    @app.post("/v1/carnets/{carnet_id:path}/download", response_model=CarnetDocument, tags=["holders"])
    async def download(carnet_id: str, body: BodyDownload, caller: Caller) -> CarnetDocument:
        """The carnet for the holder who knows its PIN: five wrong tries per caller and 20 per carnet in
        15 minutes, then 429; the PIN check runs on its own threads so guesses cannot stall the API."""
        return await service.download_async(caller, carnet_id, body.pin)

    @app.post("/v1/carnets/{carnet_id:path}/signature", response_model=CarnetDocument, tags=["holders"])
    def sign(carnet_id: str, body: BodySignCarnet, caller: Caller) -> CarnetDocument:
        return service.sign(caller, carnet_id, body.signer)

    @app.post(
        "/v1/carnets/{carnet_id:path}/travels", status_code=201, response_model=Travel, tags=["holders"]
    )
    def create_travel(carnet_id: str, body: BodyTravel, caller: Caller, response: Response) -> Travel:
        saved = service.put_travel(caller, carnet_id, body, None, create=True)
        response.headers["ETag"] = f'"{saved.version}"'
        return saved

    @app.get("/v1/carnets/{carnet_id:path}/travels/{travel_id}", response_model=Travel, tags=["holders"])
    def get_travel(carnet_id: str, travel_id: str, caller: Caller, response: Response) -> Travel:
        found = service.travel(caller, carnet_id, travel_id)
        response.headers["ETag"] = f'"{found.version}"'
        return found

    @app.put("/v1/carnets/{carnet_id:path}/travels/{travel_id}", response_model=Travel, tags=["holders"])
    def put_travel(
        carnet_id: str,
        travel_id: str,
        body: BodyTravel,
        caller: Caller,
        response: Response,
        if_match: IfMatch = None,
    ) -> Travel:
        if body.travel_id != travel_id:
            raise refuse(Code.BAD_VALUE, "/travel_id", "the travel ID in the body differs from the URL")
        saved = service.put_travel(caller, carnet_id, body, etag(if_match), create=False)
        response.headers["ETag"] = f'"{saved.version}"'
        return saved

    @app.delete("/v1/carnets/{carnet_id:path}/travels/{travel_id}", status_code=204, tags=["holders"])
    def delete_travel(carnet_id: str, travel_id: str, caller: Caller, if_match: IfMatch = None) -> Response:
        service.delete_travel(caller, carnet_id, travel_id, etag(if_match))
        return Response(status_code=204)

    @app.post(
        "/v1/carnets/{carnet_id:path}/transactions",
        status_code=201,
        response_model=Transaction,
        tags=["holders"],
    )
    def prepare(carnet_id: str, body: BodyPrepareTransaction, caller: Caller) -> Transaction:
        return service.prepare(caller, carnet_id, body.model_dump(mode="json", exclude_none=True))

    @app.get(
        "/v1/carnets/{carnet_id:path}/transactions/{transaction_id}/qr.{fmt}",
        tags=["holders"],
        responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
    )
    def qr(carnet_id: str, transaction_id: str, fmt: str, caller: Caller) -> Response:
        if fmt not in ("png", "svg"):
            raise refuse(Code.BAD_VALUE, "/fmt", "QR codes come as png or svg")
        doc, tx = service.holders.transaction(caller, carnet_id, transaction_id)
        payload = qr_payload(doc.carnet.carnet_id, tx.transaction_code)  # IDs only, never data
        return Response(
            qr_image(payload, fmt, scale=6), media_type="image/png" if fmt == "png" else "image/svg+xml"
        )

    @app.post(
        "/v1/carnets/{carnet_id:path}/transactions/{transaction_id}/submit",
        status_code=202,
        response_model=b.Tracking,
        tags=["holders"],
    )
    def submit(carnet_id: str, transaction_id: str, caller: Caller) -> b.Tracking:
        tracking = service.submit(caller, carnet_id, transaction_id)
        metrics.submitted(caller, transaction_id)
        return b.Tracking(tracking_id=tracking)

    @app.get("/v1/carnets/{carnet_id:path}/transactions/{transaction_id}/timeline", tags=["holders"])
    def timeline(
        carnet_id: str,
        transaction_id: str,
        caller: Caller,
        request: Request,
        response: Response,
        after: After = 0,
        limit: Limit = 500,
    ) -> list[dict[str, Any]]:
        """The transaction's events, oldest first: ``limit`` (1–500) after the event ID ``after``; a
        ``Link`` header with ``rel="next"`` while there may be more."""
        page = service.timeline(caller, carnet_id, transaction_id, after=after, limit=limit)
        next_link(request, response, page, limit)
        return page

    @app.post(
        "/v1/carnets/{carnet_id:path}/travels/{travel_id}/shares",
        status_code=201,
        response_model=b.ShareLink,
        tags=["holders"],
    )
    def share(carnet_id: str, travel_id: str, body: BodyShare, caller: Caller) -> b.ShareLink:
        from datetime import UTC, datetime

        link, expires = service.share(caller, carnet_id, travel_id, list(body.transactions), body.ttl_s)
        return b.ShareLink(link=link, expires=datetime.fromtimestamp(expires, UTC).isoformat())

    @app.get(
        "/v1/carnets/{carnet_id:path}",
        response_model=CarnetDocument,
        tags=["holders", "issuing associations"],
    )
    def get_carnet(carnet_id: str, caller: Caller) -> CarnetDocument:
        return service.carnet(caller, carnet_id)[0]

    # -- representatives ----------------------------------------------------------------------------
    @app.get("/v1/shared/{link}", tags=["representatives"])
    def shared(link: str, caller: Caller) -> dict[str, Any]:
        return service.shared(caller, link)

    # -- real-time confirmation (server-sent events) -------------------------------------------
    @app.get(
        "/v1/events", tags=["holders", "customs"], responses={200: {"content": {"text/event-stream": {}}}}
    )
    async def events(
        caller: Caller, request: Request, after: After = 0, limit: Limit = 500, wait_s: float = 0.0
    ) -> Response:
        """Events of the caller's carnets (customs: of its territory), ``limit`` (1–500) after the event ID
        ``after``, with a ``Link`` header (``rel="next"``) while there may be more. ``wait_s`` > 0 streams
        them as SSE."""

        def fetch(since: int) -> list[dict[str, Any]]:
            return service.events_for(caller, after=since, limit=limit)

        if wait_s <= 0:
            page = fetch(after)
            answer = JSONResponse(page)
            next_link(request, answer, page, limit)
            return answer
        wait_s = min(wait_s, 300.0)

        async def stream():  # type: ignore[no-untyped-def]
            since, deadline = after, time.monotonic() + wait_s
            while time.monotonic() < deadline:
                for e in await asyncio.to_thread(fetch, since):
                    since = e["id"]
                    yield f"id: {e['id']}\nevent: {e['kind']}\ndata: {json.dumps(e)}\n\n"
                await asyncio.sleep(0.2)

        return StreamingResponse(stream(), media_type="text/event-stream")

    # -- webhook subscriptions -------------------------------------------------------------------
    @app.post("/v1/webhooks", status_code=201, response_model=b.Webhook, tags=["holders", "customs"])
    def subscribe(body: BodyWebhook, caller: Caller) -> b.Webhook:
        """Push the caller's events of the chosen kinds to a public URL, in order, at least once, with the
        Standard Webhooks headers: ``webhook-id`` (the same on a retry), ``webhook-timestamp`` and
        ``webhook-signature`` (``v1,`` base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the secret
        returned here, once). At most 20 subscriptions per party (409, code 212)."""
        return b.Webhook(**service.subscribe(caller, str(body.url), list(body.events)))

    @app.get("/v1/webhooks", tags=["holders", "customs"])
    def subscriptions(
        caller: Caller, request: Request, response: Response, after: str = "", limit: int = 50
    ) -> list[dict[str, Any]]:
        """The caller's subscriptions in ID order, ``limit`` (1–100) after the ID ``after``; a ``Link``
        header with ``rel="next"`` when there may be more."""
        if not 1 <= limit <= 100:
            raise refuse(Code.BAD_VALUE, "/limit", "ask for 1 to 100 subscriptions at a time")
        page = service.subscriptions(caller, after=after[:64], limit=limit)
        if len(page) == limit:
            nxt = request.url.include_query_params(after=page[-1]["id"], limit=limit)
            response.headers["Link"] = f'<{nxt.path}?{nxt.query}>; rel="next"'
        return page

    @app.delete("/v1/webhooks/{hook_id}", status_code=204, tags=["holders", "customs"])
    def unsubscribe(hook_id: str, caller: Caller) -> Response:
        service.unsubscribe(caller, hook_id)
        return Response(status_code=204)

    # -- customs --------------------------------------------------------------------------------
    @app.post(
        "/v1/customs/transactions/{carnet_id:path}/{transaction_id}/cancel",
        response_model=Transaction,
        tags=["customs"],
    )
    def cancel(carnet_id: str, transaction_id: str, body: BodyCancel, caller: Caller) -> Transaction:
        return service.cancel(caller, carnet_id, transaction_id, body.code, body.reason)

    @app.post(
        "/v1/customs/transactions/{carnet_id:path}/{transaction_id}/paper-endorsement",
        response_model=Transaction,
        tags=["customs"],
    )
    def reconcile(carnet_id: str, transaction_id: str, body: BodyEndorsement, caller: Caller) -> Transaction:
        """Record what customs stamped on the paper voucher during a paper fallback."""
        return service.reconcile(caller, carnet_id, transaction_id, body)

    @app.get("/v1/customs/events", tags=["customs"])
    def customs_events(
        caller: Caller, request: Request, response: Response, after: After = 0, limit: Limit = 500
    ) -> list[dict[str, Any]]:
        """The events of the caller's territory, ``limit`` (1–500) after the event ID ``after``; a ``Link``
        header with ``rel="next"`` while there may be more."""
        page = service.customs_transactions(caller, after=after, limit=limit)
        next_link(request, response, page, limit)
        return page

    @app.get("/v1/customs/transactions", tags=["customs"])
    def customs_history(caller: Caller, carnet_id: str | None = None) -> list[dict[str, Any]]:
        """The vouchers declared to the caller's territory (optionally of one carnet), each with the
        rejections its own customs gave, oldest first, kept through later submissions and the commit."""
        return service.customs_history(caller, carnet_id=carnet_id)

    @app.get("/v1/customs/transactions/{carnet_id:path}/{transaction_id}", tags=["customs"])
    def customs_transaction(carnet_id: str, transaction_id: str, caller: Caller) -> dict[str, Any]:
        """One voucher declared to the caller's territory, with its rejection history; 404 otherwise."""
        return service.customs_history(caller, carnet_id=carnet_id, transaction_id=transaction_id)[0]

    if callback is not None:  # gateway-callback.wsdl (SOAP) and CDS-like REST pushes from customs
        app.mount("/customs", callback)
    app.mount("/console", console_app(service, console))  # the operator console (gateway/console)

    # -- integration testers ------------------------------------------------------------------------
    @app.post(
        "/v1/dry-run/translate",
        tags=["integration testers"],
        responses={200: {"content": {"application/xml": {}}}},
    )
    def dry_translate(body: BodyDryRunTranslate, caller: Caller) -> Response:
        """Translate one transaction of a carnet document to its national XML (unsigned), without sending it."""
        doc = load_document(json.dumps(body.document))
        if body.index >= len(doc.transactions):
            raise refuse(Code.MISSING, "/index", "the document has no such transaction")
        message = declaration_for(doc, body.index, "EATADRYRUN")
        return Response(to_bytes(message, message.territory), media_type="application/xml")

    @app.post(
        "/v1/dry-run/parse/{territory}",
        tags=["integration testers"],
        openapi_extra={
            "requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}, "required": True}
        },
    )
    async def dry_parse(territory: str, request: Request, caller: Caller) -> dict[str, Any]:
        """Read a national XML document into eATA JSON (no signature check), as the gateway would."""
        message = from_bytes(await request.body(), territory.upper()[:2])
        return message.model_dump(mode="json", exclude_none=True)

    # -- operations -------------------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        failures = {name: why for name, check in (ready_checks or {}).items() if (why := check())}
        return JSONResponse(
            {"ready": not failures, "failures": failures}, status_code=503 if failures else 200
        )

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics_text() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    install_openapi(app)
    install_contract(app, callback=callback is not None)  # problems, security, paging, examples
    return app
