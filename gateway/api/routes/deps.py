"""What every route depends on: the service and the caller (API key or forwarded client certificate),
request bodies read after the caller is known, and the travel's ETag.

:func:`gateway.api.app.create_app` puts the service, the client-certificate policy, the metrics and the
readiness checks on ``app.state``; the routers find them there.
"""

from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.api import bodies as b
from gateway.api.clientcert import ClientCertPolicy, read_forwarded
from gateway.api.jsonbody import json_body
from gateway.api.metrics import Metrics
from gateway.api.service import Service
from gateway.errors import Code, refuse
from gateway.model import Amendment, Endorsement, Travel
from gateway.store.db import Party


def service_of(request: Request) -> Service:
    return request.app.state.service


def metrics_of(request: Request) -> Metrics:
    return request.app.state.metrics


def party(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="The caller's API key")] = None,
) -> Party:
    service = service_of(request)
    if x_api_key:
        found = service.db.party_by_key(x_api_key)
        if found is None:
            raise refuse(Code.NOT_AUTHORISED, "/X-API-Key", "a valid API key is required")
        return found
    client_certs: ClientCertPolicy | None = request.app.state.client_certs
    forwarded = request.headers.get(client_certs.header) if client_certs else None
    if client_certs and forwarded and client_certs.applies(request.client.host if request.client else None):
        where = f"/{client_certs.header}"
        sha256, subject = read_forwarded(forwarded, where)
        found = service.db.party_by_cert(sha256)
        if found is None:
            raise refuse(Code.NOT_AUTHORISED, where, f"no party is registered for certificate {subject}")
        return found
    raise refuse(Code.NOT_AUTHORISED, "/X-API-Key", "a valid API key (or client certificate) is required")


Svc = Annotated[Service, Depends(service_of)]
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
