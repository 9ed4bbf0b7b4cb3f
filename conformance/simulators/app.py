"""A national customs system over real HTTP, one or many territories per server, each as its adapter says.

Routes (``XX`` = territory):

- ``POST /customs/XX/soap`` SubmitDeclaration / QueryStatus, SOAP 1.1 or 1.2 (answers in the caller's
  version), synchronous signed answer; ``GET /customs/XX/soap?wsdl`` the WSDL with this address.
- ``POST /oauth/token`` OAuth 2.0 client credentials (HTTP Basic client auth).
- ``POST /customs/XX/declarations`` CDS-like REST: bearer token, XML body, 202 at once; the decision is
  pushed to ``X-Callback-Url`` afterwards. ``GET /customs/XX/declarations/{id}`` the decision (202 pending).
- ``/_control/faults`` (GET/POST ``{"profile": ...}``), ``/_control/state``, ``/_control/reset``.
- ``/_control/faults/XX`` (GET/POST) a profile for one territory only, over the simulator-wide one, so a
  conformance run can fault one territory while the others run on; ``{"profile": null}`` removes it.
- ``POST /_control/carnets`` ``{"carnet_id", "items": [1, 2], "valid_until"}``: what the eATA Core tells
  customs about a carnet (its general list), so they refuse items not on it (302).
- ``POST /_control/cancel/XX`` ``{"message_id", "reason"}``: the officer enters the holder's cancellation
  code at the national portal; the committed transaction is rolled back (answers ``{"cancelled": true}``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
import time
import uuid
from base64 import b64decode
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from cryptography import x509
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from conformance.simulators.customs import CarnetFacts, NationalCustoms
from conformance.simulators.faults import Faults
from gateway.adapter_spec import Adapter
from gateway.adapters import registry
from gateway.adapters.delivery import signer as load_signer
from gateway.bounded import Bounded
from gateway.errors import Code, Refusal
from gateway.messages import Declaration
from gateway.messages import Response as CustomsResponse
from gateway.signing import Signers, TrustStore, Verifier
from gateway.transport.envelope import (
    CONTENT_TYPE,
    CUSTOMS_NS,
    SOAP11,
    SOAP12,
    Call,
    element,
    envelope,
    fault,
    parse_call,
)
from gateway.transport.soap import wsdl_path

CLIENT_SECRET = "simulator-secret"


@dataclass
class Simulator:
    """Shared state of one simulator server."""

    systems: dict[str, NationalCustoms]
    faults: Faults
    callback_url: str | None = None  # used when a REST request names none
    notify_delay: float = 0.05
    token_ttl: float = 3600.0
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    token_grants: int = 0
    notifications: list[dict[str, Any]] = field(default_factory=list)
    territory_faults: dict[str, Faults] = field(default_factory=dict)  # code -> profile over the global one
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for code, system in self.systems.items():
            system.misbehaves = lambda kind, code=code: self.faults_for(code).has(kind)  # type: ignore[misc]  # code= binds this system's code; it is called with kind only

    def system(self, code: str) -> NationalCustoms | None:
        return self.systems.get(code.upper())

    def faults_for(self, code: str) -> Faults:
        return self.territory_faults.get(code.upper(), self.faults)


def gateway_verifier(keys_dir: Path, trust: tuple[str, ...] = ("ca",)) -> Verifier:
    """What a national system accepts declarations from: the gateway's own certificate, under the CA."""
    store = TrustStore.from_paths([keys_dir / f"{a}.cert.pem" for a in trust])
    gateway = x509.load_pem_x509_certificate((keys_dir / "gateway.cert.pem").read_bytes())
    return Verifier(store, signers=Signers.of("the eATA gateway", [gateway]))


def build_systems(
    territories: Iterable[str | Adapter], keys_dir: Path, trust: tuple[str, ...] = ("ca",)
) -> dict[str, NationalCustoms]:
    systems: dict[str, NationalCustoms] = {}
    keys_dir = keys_dir.resolve()
    gateway_trust = gateway_verifier(keys_dir, trust)
    movements: dict[str, Declaration] = Bounded()  # the NCTS common domain, one for all
    carnets: dict[str, CarnetFacts] = {}  # what the eATA Core tells every customs system
    for t in territories:
        adapter = t if isinstance(t, Adapter) else registry.get(t)
        systems[adapter.code] = NationalCustoms(
            adapter, load_signer(keys_dir, adapter.sim_key), gateway_trust, movements, carnets
        )
    return systems


def create_app(
    territories: Iterable[str | Adapter] | None = None,
    *,
    keys_dir: str | Path,
    faults: str = "",
    callback_url: str | None = None,
    notify_delay: float = 0.05,
    token_ttl: float = 3600.0,
) -> FastAPI:
    sim = Simulator(
        build_systems(territories if territories is not None else registry.codes(), Path(keys_dir)),
        Faults(faults),
        callback_url,
        notify_delay,
        token_ttl,
    )
    app = FastAPI(title="eATA national customs simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim
    _soap_routes(app, sim)
    _rest_routes(app, sim)
    _control_routes(app, sim)
    app.add_middleware(SoapFastPath, sim=sim)
    return app


async def _common_faults(sim: Simulator, code: str) -> Response | None:
    """Faults that hit before customs looks at the request."""
    faults = sim.faults_for(code)
    if (f := faults.take("latency")) is not None:
        await asyncio.sleep(f.value or 0.5)
    if (f := faults.take("hang")) is not None:
        await asyncio.sleep(f.value or 30.0)
    if faults.take("http_5xx") is not None:
        return PlainTextResponse("Service Unavailable (simulated)", status_code=503)
    return None


def _document(sim: Simulator, system: NationalCustoms, response: CustomsResponse) -> bytes:
    faults = sim.faults_for(system.adapter.code)
    if faults.take("unknown_reference") is not None:
        response = _elsewhere(response)
    if faults.take("missing_signature") is not None:
        return system.answer(response, signed=False)
    data = system.answer(response)
    if faults.take("bad_signature") is not None:
        # altered after signing: the answer's own ID, which every dialect's answer carries
        ours = response.message_id.encode()
        data = data.replace(ours, ours[:-1] + (b"0" if ours[-1:] != b"0" else b"1"), 1)
    return data


def _elsewhere(response: CustomsResponse) -> CustomsResponse:
    """The answer as if to a declaration the gateway never sent: another LRN and, for a movement, MRN."""
    update: dict[str, Any] = {"in_reply_to": "UNSENT" + response.in_reply_to[6:]}
    if response.movement_reference:
        update["movement_reference"] = "99ZZ" + response.movement_reference[4:]
    if response.endorsement is not None and response.kind.value == "transit_discharge":
        e = response.endorsement
        update["endorsement"] = e.model_copy(update={"reference": "99ZZ" + e.reference[4:]})
    return response.model_copy(update=update)


# -- SOAP ------------------------------------------------------------------------------------------
def _soap_routes(app: FastAPI, sim: Simulator) -> None:
    @app.get("/customs/{code}/soap")
    async def wsdl(code: str, request: Request) -> Response:
        if sim.system(code) is None or "wsdl" not in request.query_params:
            return PlainTextResponse("not found", status_code=404)
        text = wsdl_path().read_text(encoding="utf-8")
        here = str(request.url.remove_query_params("wsdl"))
        text = text.replace("http://127.0.0.1:8200/customs/XX/soap", here)
        return Response(text, media_type="text/xml")

    @app.post("/customs/{code}/soap")
    async def soap(code: str, request: Request) -> Response:
        status, content, media_type = await soap_call(sim, code, await request.body())
        return Response(content, status_code=status, media_type=media_type)


_TEXT = "text/plain; charset=utf-8"


async def soap_call(sim: Simulator, code: str, body: bytes) -> tuple[int, bytes, str]:
    """One SOAP request to territory ``code``: (HTTP status, answer bytes, content type). The body is read
    first: a client that gives up during a hang then leaves cleanly."""
    system = sim.system(code)
    if system is None or system.adapter.transport != "soap":
        return 404, b"no SOAP service for this territory", _TEXT
    if (early := await _common_faults(sim, code)) is not None:
        return early.status_code, bytes(early.body), _TEXT
    try:
        call = parse_call(body)
    except Refusal as exc:
        return _refused(_version_of(body), exc)
    if sim.faults_for(code).take("soap_fault") is not None:
        return _fault_response(
            call.soap_ns, Code.CUSTOMS_FAULT, "/", "simulated internal error", client=False
        )
    if sim.faults_for(code).take("malformed") is not None:
        return 200, b"<soap:Envelope><broken", CONTENT_TYPE[call.soap_ns]
    try:
        document: bytes | None  # None: no answer to give (an unknown message ID)
        if call.operation == "SubmitDeclaration":
            response = system.receive(call.binary("document"))
            status, document = "answered", _document(sim, system, response)
            ack = call.text("messageId") or response.in_reply_to
        elif call.operation == "QueryStatus":
            ack = call.text("messageId") or ""
            found = system.find(ack)
            status, document = ("answered", _document(sim, system, found)) if found else ("unknown", None)
        else:
            return _fault_response(
                call.soap_ns, Code.UNKNOWN_FIELD, "/Envelope/Body", f"unknown operation {call.operation}"
            )
    except Refusal as exc:
        return _refused(call.soap_ns, exc)
    tag = f"{call.operation}Response"
    payload = element(CUSTOMS_NS, tag, {"status": status, "ackId": ack, "document": document})
    return 200, envelope(call.soap_ns, payload), CONTENT_TYPE[call.soap_ns]


_SOAP_PATH = re.compile(r"/customs/([^/]+)/soap")


class SoapFastPath:
    """Pure ASGI in front of the app: a SOAP POST (the relay's hot path, the demo's and the suite's
    load) goes straight to :func:`soap_call`, without the framework's routing, request and response
    objects; the answer is the same bytes. Everything else passes to the app."""

    def __init__(self, app: Any, sim: Simulator) -> None:
        self.app, self.sim = app, sim

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        m = _SOAP_PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if m is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        status, content, media_type = await soap_call(self.sim, m.group(1), b"".join(chunks))
        headers = [(b"content-length", str(len(content)).encode()), (b"content-type", media_type.encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _version_of(body: bytes) -> str:
    """SOAP 1.2 when the unreadable request looks like it, else 1.1."""
    return SOAP12 if SOAP12.encode() in body[:2048] else SOAP11


def _refused(soap_ns: str, exc: Refusal) -> tuple[int, bytes, str]:
    """A refused document is the sender's fault (Client/Sender) unless customs itself failed (5xx)."""
    p = exc.problems[0]
    return _fault_response(soap_ns, p.code, p.pointer, p.message, client=p.code < 500)


def _fault_response(
    soap_ns: str, code: int, pointer: str, message: str, *, client: bool = True
) -> tuple[int, bytes, str]:
    data = fault(soap_ns, CUSTOMS_NS, client=client, code=code, pointer=pointer, message=message)
    return 500, data, CONTENT_TYPE[soap_ns]


# -- REST (CDS-like) -------------------------------------------------------------------------------
def _rest_routes(app: FastAPI, sim: Simulator) -> None:
    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        auth = request.headers.get("authorization", "")
        try:
            client_id, _, secret = b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not client_id.startswith("eata-gateway-") or secret != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        value = secrets.token_urlsafe(24)
        sim.tokens[value] = time.monotonic() + sim.token_ttl
        sim.token_grants += 1
        return JSONResponse({"access_token": value, "token_type": "Bearer", "expires_in": int(sim.token_ttl)})

    def authorised(request: Request) -> bool:
        value = request.headers.get("authorization", "").removeprefix("Bearer ")
        expiry = sim.tokens.get(value)
        return expiry is not None and expiry > time.monotonic()

    @app.post("/customs/{code}/declarations")
    async def declare(code: str, request: Request) -> Response:
        system = sim.system(code)
        if system is None or system.adapter.transport != "rest":
            return JSONResponse({"error": "no REST service for this territory"}, status_code=404)
        body = await request.body()
        if (early := await _common_faults(sim, code)) is not None:
            return early
        if not authorised(request):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        try:
            response = system.receive(body)
        except Refusal as exc:
            return JSONResponse(exc.as_dict(), status_code=400)
        conversation = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{code}/{response.in_reply_to}"))
        callback = request.headers.get("x-callback-url") or sim.callback_url
        faults = sim.faults_for(code)
        if callback and faults.take("no_notification") is None:
            copies = 2 if faults.take("duplicate") is not None else 1
            task = asyncio.create_task(_notify(sim, system, response, callback, conversation, copies))
            sim._tasks.add(task)
            task.add_done_callback(sim._tasks.discard)
        return JSONResponse(
            {"conversationId": conversation}, status_code=202, headers={"X-Conversation-ID": conversation}
        )

    @app.get("/customs/{code}/declarations/{message_id}")
    async def status(code: str, message_id: str, request: Request) -> Response:
        system = sim.system(code)
        if system is None:
            return JSONResponse({"error": "unknown territory"}, status_code=404)
        if not authorised(request):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        found = system.find(message_id)
        if found is None:
            return JSONResponse({"error": "unknown message"}, status_code=404)
        return Response(_document(sim, system, found), media_type="application/xml")


async def _notify(
    sim: Simulator,
    system: NationalCustoms,
    response: CustomsResponse,
    url: str,
    conversation: str,
    copies: int,
) -> None:
    """Push the decision to the gateway's callback, as CDS pushes notifications (a few tries)."""
    await asyncio.sleep(sim.notify_delay)
    document = _document(sim, system, response)
    headers = {
        "Content-Type": "application/xml",
        "X-Conversation-ID": conversation,
        "X-Territory": system.adapter.code,
    }
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
        for _ in range(copies):
            status: int | str = "unreached"
            for attempt in range(3):
                try:
                    status = (await client.post(url, content=document, headers=headers)).status_code
                    if status < 500:
                        break
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                await asyncio.sleep(0.1 * (attempt + 1))
            sim.notifications.append(
                {"territory": system.adapter.code, "in_reply_to": response.in_reply_to, "status": status}
            )


# -- control ---------------------------------------------------------------------------------------
def _control_routes(app: FastAPI, sim: Simulator) -> None:
    @app.get("/_control/faults")
    async def get_faults() -> dict[str, str]:
        return {"profile": sim.faults.profile}

    @app.post("/_control/faults")
    async def set_faults(request: Request) -> Response:
        try:
            sim.faults.set(str((await request.json()).get("profile", "")))
        except (ValueError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"profile": sim.faults.profile})

    @app.get("/_control/faults/{code}")
    async def get_territory_faults(code: str) -> Response:
        if sim.system(code) is None:
            return JSONResponse({"error": f"no simulated territory {code}"}, status_code=404)
        return JSONResponse({"territory": code.upper(), "profile": sim.faults_for(code).profile})

    @app.post("/_control/faults/{code}")
    async def set_territory_faults(code: str, request: Request) -> Response:
        if sim.system(code) is None:
            return JSONResponse({"error": f"no simulated territory {code}"}, status_code=404)
        try:
            profile = (await request.json()).get("profile")
            if profile is None:
                sim.territory_faults.pop(code.upper(), None)
            else:
                sim.territory_faults[code.upper()] = Faults(str(profile))
        except (ValueError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"territory": code.upper(), "profile": sim.faults_for(code).profile})

    @app.post("/_control/carnets")
    async def register_carnet(request: Request) -> Response:
        try:
            body = await request.json()
            facts = CarnetFacts(
                frozenset(int(i) for i in body["items"]), dt.date.fromisoformat(body["valid_until"])
            )
            carnet_id = str(body["carnet_id"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": f"bad carnet facts: {exc}"}, status_code=400)
        next(iter(sim.systems.values())).carnets[carnet_id] = facts  # one Core, shared by all systems
        return JSONResponse({"carnet_id": carnet_id, "items": sorted(facts.items)})

    @app.post("/_control/cancel/{code}")
    async def cancel(code: str, request: Request) -> Response:
        system = sim.system(code)
        if system is None:
            return JSONResponse({"error": f"no simulated territory {code}"}, status_code=404)
        try:
            body = await request.json()
            done = system.cancel(str(body["message_id"]), str(body.get("reason") or ""))
        except (ValueError, KeyError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"cancelled": done}, status_code=200 if done else 409)

    @app.get("/_control/state")
    async def state() -> dict[str, Any]:
        return {
            "territories": {code: s.state() for code, s in sim.systems.items()},
            "token_grants": sim.token_grants,
            "notifications": list(sim.notifications),
            "faults": sim.faults.profile,
        }

    @app.post("/_control/reset")
    async def reset() -> dict[str, bool]:
        for s in sim.systems.values():
            s.records.clear()
            s.effects.clear()
            s.deadlines.clear()
            s.carnets.clear()
        sim.notifications.clear()
        sim.faults.set("")
        sim.territory_faults.clear()
        return {"reset": True}

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {"ok": True, "territories": sorted(sim.systems)}


__all__ = ["Call", "Simulator", "create_app"]
