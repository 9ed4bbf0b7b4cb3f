"""The API contract as the gateway really keeps it, added to FastAPI's OpenAPI document:

- every operation's real error answers as ``application/problem+json`` (the :data:`PROBLEM` schema);
  FastAPI's own 422 shape, which the gateway never sends, is gone;
- an ``APIKeyHeader`` security scheme (``X-API-Key``) and, as the alternative, the client certificate
  (mTLS terminated at the operator's proxy), instead of an optional header parameter;
- cursor pagination (``after``, ``limit``, a ``Link: <…>; rel="next"`` header) on every list;
- an example for every request body;
- the customs callback (REST and SOAP, the WSDL) when the app mounts it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from fastapi import FastAPI, Query

PROBLEM_TYPE = "application/problem+json"
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem document with the gateway's eTIR-style codes (docs/conformance.md) and "
    "a JSON pointer to each problem",
    "required": ["type", "title", "status", "detail", "problems"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:eata:error:302"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "problems": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ProblemItem"}},
    },
}
PROBLEM_ITEM = {
    "type": "object",
    "required": ["code", "pointer", "message", "title"],
    "properties": {
        "code": {
            "type": "integer",
            "description": "1xx validation, 2xx workflow, 3xx functional, 4xx internal, 5xx customs",
        },
        "pointer": {"type": "string", "description": "JSON pointer (RFC 6901) to the field concerned"},
        "message": {"type": "string", "description": "a sentence a customs officer understands"},
        "title": {"type": "string"},
        "article": {"type": "string", "description": "the Convention article the rule comes from"},
    },
}
REFUSED = {  # the REST callback's refusal (JSON, for national systems)
    "type": "object",
    "required": ["refused", "problems"],
    "properties": {
        "refused": {"type": "boolean", "const": True},
        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemItem"}},
    },
}

WHY = {
    400: "The request could not be read (code 100).",
    403: "No valid API key or client certificate, or the caller's role may not do this (code 305).",
    404: "No such carnet, transaction, travel or resource for this caller (codes 301, 103).",
    409: "A workflow rule refused it: wrong state, duplicate, limit reached (2xx codes).",
    412: "If-Match names an older version of the travel; the answer carries the current ETag.",
    413: "The request body is larger than EATA_MAX_BODY (code 111).",
    422: "The body or a parameter breaks the model or a Convention rule (1xx, 3xx codes).",
    428: "If-Match is required to change a travel.",
    429: "Too many wrong PINs: wait (Retry-After) and try again.",
    500: "Something unforeseen; nothing is said of the internals (code 400).",
    502: "Customs answered with an error (5xx codes).",
    503: "Not ready: the store or broker is unreachable.",
}
COMMON = (400, 403, 404, 409, 413, 422, 500)
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/v1/carnets/{carnet_id}/download"): (429,),
    ("put", "/v1/carnets/{carnet_id}/travels/{travel_id}"): (412, 428),
    ("delete", "/v1/carnets/{carnet_id}/travels/{travel_id}"): (412, 428),
}
UNAUTHENTICATED = {"/healthz", "/readyz", "/metrics"}
LINK = {
    "Link": {
        "description": 'The next page while there may be more: `<…?after=…&limit=…>; rel="next"`',
        "schema": {"type": "string"},
    }
}
PAGED = {
    "/v1/events",
    "/v1/webhooks",
    "/v1/customs/events",
    "/v1/carnets/{carnet_id}/transactions/{transaction_id}/timeline",
}
SECURITY_SCHEMES = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The party's API key, printed once by `eata-gateway parties add` (only its hash is stored).",
    },
    "ClientCertificate": {
        "type": "mutualTLS",
        "description": "Alternatively a client certificate registered with `parties add … --cert`: mTLS is "
        "terminated at the operator's reverse proxy, which forwards the verified certificate in the header "
        "named by EATA_CLIENT_CERT_HEADER; it is believed only from EATA_TRUSTED_PROXIES.",
    },
}


@cache
def _journey() -> dict[str, Any]:
    from gateway.resources import data_dir

    return json.loads((data_dir("examples") / "journey-no-eu-ch.json").read_text())


def _draft() -> dict[str, Any]:
    carnet = copy.deepcopy(_journey()["carnet"])
    carnet["status"] = "draft"
    carnet.pop("signature", None)
    return carnet


def examples() -> dict[str, Any]:
    """One example per request body model (by model name)."""
    journey = _journey()
    travel = {k: v for k, v in journey["travels"][0].items() if k not in ("status", "version")}
    endorsement = journey["transactions"][0]["endorsement"]
    return {
        "CreateCarnet": {"carnet": _draft(), "pin": "482913"},
        "Replace": {"carnet": {**_draft(), "carnet_id": _draft()["carnet_id"][:-1] + "9"}, "pin": "482913"},
        "Amendment": {
            "amended_on": "2026-09-20",
            "reason": "holder's address corrected",
            "consent_by": "Oslo Chamber of Commerce",
            "changes": [{"op": "replace", "path": "/holder/address/street", "value": "Karl Johans gate 2"}],
        },
        "Download": {"pin": "482913"},
        "SignCarnet": {"signer": "Ingrid Berg"},
        "Travel": travel,
        "PrepareTransaction": {
            "kind": "importation",
            "territory": "CH",
            "office": "CH001801",
            "date": "2026-10-07",
            "items": "1-4",
            "travel_id": "travel-ch",
        },
        "Share": {"transactions": ["tx-004"], "ttl_s": 86400},
        "Subscribe": {"url": "https://erp.example.no/eata/events", "events": ["committed", "rejected"]},
        "Cancel": {"code": "CX000001", "reason": "declared at the wrong office"},
        "Endorsement": endorsement,
        "DryRunTranslate": {"document": journey, "index": 0},
    }


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": WHY.get(status, "Refused"),
        "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def complete(schema: dict[str, Any], *, callback: bool = False) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"], schemas["ProblemItem"], schemas["Refused"] = PROBLEM, PROBLEM_ITEM, REFUSED
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    samples = examples()
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            params = [
                p
                for p in op.get("parameters", [])
                if not (p["in"] == "header" and p["name"].lower() == "x-api-key")
            ]
            if params:
                op["parameters"] = params
            else:
                op.pop("parameters", None)
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            if path in UNAUTHENTICATED:
                op["security"] = []
                if path == "/readyz":
                    responses["503"] = {
                        "description": WHY[503],
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                continue
            op["security"] = [{"ApiKey": []}, {"ClientCertificate": []}]
            for status in (*COMMON, *EXTRA.get((method, path), ())):
                responses[str(status)] = _problem_response(status)
            if path in PAGED and method == "get":
                ok = responses.get("200", {})
                ok["headers"] = LINK
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                name = body["schema"].get("$ref", "").rsplit("/", 1)[-1]
                if name in samples:
                    body["example"] = samples[name]
    if callback:
        schema["paths"].update(_callback_paths())
    schema.setdefault("tags", []).append(
        {
            "name": "customs callback",
            "description": "Where national systems push decisions and claims: the "
            "document is believed only when signed by one of that territory's own signers under its anchors.",
        }
    )
    return schema


def _callback_paths() -> dict[str, Any]:
    territory = {
        "name": "territory",
        "in": "path",
        "required": True,
        "description": "The territory whose customs push (ISO 3166 alpha-2); its signers alone count",
        "schema": {"type": "string", "pattern": "^[A-Z]{2}$"},
    }
    soap_body = {
        "description": "A SOAP 1.1 (text/xml) or 1.2 (application/soap+xml) envelope calling NotifyEndorsement, "
        "NotifyRejection or NotifyClaim with the signed national document in base64 (gateway-callback.wsdl)",
        "required": True,
        "content": {
            "text/xml": {"schema": {"type": "string"}},
            "application/soap+xml": {"schema": {"type": "string"}},
        },
    }
    fault = {
        "description": "A SOAP fault in the caller's version; its detail carries the gateway's code, pointer and "
        "sentence (SOAP 1.2: Sender 400, Receiver 500; SOAP 1.1: always 500)",
        "content": {
            "text/xml": {"schema": {"type": "string"}},
            "application/soap+xml": {"schema": {"type": "string"}},
        },
    }
    return {
        "/customs/callback/{territory}": {
            "post": {
                "tags": ["customs callback"],
                "summary": "Push a decision (REST, CDS-like)",
                "description": "The body is the signed national document (endorsement, rejection) as the territory's "
                "dialect writes it. It is verified, matched to the declaration it answers and applied once.",
                "operationId": "customs_callback_rest",
                "security": [],
                "parameters": [territory],
                "requestBody": {
                    "required": True,
                    "content": {"application/xml": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "200": {
                        "description": "Received (duplicate: it had been applied already)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "received": {"type": "boolean"},
                                        "duplicate": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    },
                    "400": {
                        "description": "Refused: unsigned, signed by someone else, not an answer to a declaration "
                        "this gateway sent, or against the rules",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refused"}}},
                    },
                    "413": _problem_response(413),
                },
            }
        },
        "/customs/callback/{territory}/soap": {
            "get": {
                "tags": ["customs callback"],
                "summary": "The callback's WSDL (`?wsdl`), its ports' address set to this URL",
                "operationId": "customs_callback_wsdl",
                "security": [],
                "parameters": [
                    territory,
                    {
                        "name": "wsdl",
                        "in": "query",
                        "required": True,
                        "allowEmptyValue": True,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "gateway-callback.wsdl",
                        "content": {"text/xml": {"schema": {"type": "string"}}},
                    },
                    "404": _problem_response(404),
                    "405": _problem_response(405) | {"description": "Without ?wsdl: SOAP calls are POSTed"},
                },
            },
            "post": {
                "tags": ["customs callback"],
                "summary": "Push a decision or a claim (SOAP 1.1 or 1.2)",
                "operationId": "customs_callback_soap",
                "security": [],
                "parameters": [territory],
                "requestBody": soap_body,
                "responses": {
                    "200": {
                        "description": "The operation's response envelope",
                        "content": soap_body["content"],
                    },
                    "400": fault,
                    "500": fault,
                    "413": _problem_response(413),
                },
            },
        },
    }


def install_contract(app: FastAPI, *, callback: bool = False) -> None:
    """Wrap ``app.openapi`` (as :func:`gateway.api.jsonbody.install_openapi` left it) with :func:`complete`."""
    built: Callable[[], dict[str, Any]] = app.openapi
    done: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if "schema" not in done:
            done["schema"] = complete(built(), callback=callback)
            app.openapi_schema = done["schema"]
        return done["schema"]

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


def next_link(request: Any, response: Any, page: list[dict[str, Any]], limit: int, key: str = "id") -> None:
    """``Link: <…?after=<last>&limit=…>; rel="next"`` when the page is full (there may be more)."""
    if page and len(page) >= limit:
        nxt = request.url.include_query_params(after=page[-1][key], limit=limit)
        response.headers["Link"] = f'<{nxt.path}?{nxt.query}>; rel="next"'


# Query parameters of every event list: the cursor is an event ID (what the store can hold), the page 1–500.
After = Annotated[
    int, Query(ge=0, le=2**31 - 1, description="Cursor: the ID of the last item of the previous page")
]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (1–500)")]
