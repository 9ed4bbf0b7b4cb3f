"""Where customs push decisions: the gateway's callback endpoint (REST and gateway-callback.wsdl SOAP).

- ``POST /callback/XX``       a signed national answer as the body (CDS-like notifications)
- ``POST /callback/XX/soap``  NotifyEndorsement / NotifyRejection / NotifyClaim (base64 document)

Each document is verified against territory XX's trust anchors and decoded from the signed content only,
and matched to the declaration it answers by the national references it names (LRN, MRN): ``answered``
(the running gateway passes ``Service.answered``, over everything it sent) or, without one, the
declarations registered with :meth:`Inbox.expect`. An answer naming references nothing sent carries is
refused (314) and attached to nothing.
Notifications are idempotent by the answer's message ID: a repeat is acknowledged and has no further
effect. Verified answers go to ``on_answer`` (the service applies them, once, and says ``duplicate`` for a
repeat) before they are recorded here, so one whose application failed is applied when sent again;
verified claims (a chain ``claim_notified`` message signed by that territory's customs) go to ``on_claim``,
once per claim ID — the claims flow, whose refusals (barred, over the cap) answer customs as SOAP faults.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.adapters import registry
from gateway.adapters.delivery import read_answer, read_claim
from gateway.api.problems import http_handler
from gateway.bounded import Bounded
from gateway.correlation import matching, named
from gateway.errors import Code, Refusal, refuse
from gateway.messages import Declaration
from gateway.messages import Response as CustomsResponse
from gateway.model import Claim
from gateway.resources import data_dir
from gateway.transport.envelope import (
    CALLBACK_NS,
    CONTENT_TYPE,
    element,
    envelope,
    fault,
    fault_status,
    parse_call,
    sender_fault,
    version_of,
    wsdl_with_address,
)

log = logging.getLogger("eata.callback")
CALLBACK_WSDL = ("xsd", "wsdl", "gateway-callback.wsdl")

OnAnswer = Callable[[str, CustomsResponse, bytes], str | None]  # the outcome; "duplicate" if seen
Answered = Callable[[dict[str, Any]], dict[str, Any] | None]  # partial answer -> the declaration answered
OnClaim = Callable[[str, Claim, bytes], None]


@dataclass
class Inbox:
    """Decisions received, once each; what a test or the API reads."""

    # Bounded: a long-running gateway keeps the recent ones only (the store decides duplicates for good)
    answers: dict[str, CustomsResponse] = field(default_factory=Bounded)  # by in_reply_to
    receipts: dict[str, int] = field(default_factory=Bounded)  # by answer message ID
    effects: dict[str, int] = field(default_factory=Bounded)
    claims: dict[str, Claim] = field(default_factory=Bounded)  # by claim ID, verified
    refused: deque[str] = field(default_factory=lambda: deque(maxlen=1000))
    sent: dict[str, Declaration] = field(default_factory=Bounded)  # by message ID (LRN): see expect
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    def record(self, answer: CustomsResponse) -> bool:
        """True the first time this answer arrives."""
        with self._lock:
            self.receipts[answer.message_id] = self.receipts.get(answer.message_id, 0) + 1
            if self.receipts[answer.message_id] > 1:
                return False
            self.effects[answer.message_id] = self.effects.get(answer.message_id, 0) + 1
            self.answers[answer.in_reply_to] = answer
            self._arrived.notify_all()
            return True

    def expect(self, declaration: Declaration) -> None:
        """Answers to ``declaration`` may arrive here (tests, demos; the gateway uses its own store)."""
        with self._lock:
            self.sent[declaration.message_id] = declaration

    def answered(self, partial: dict[str, Any]) -> dict[str, Any] | None:
        """The registered declaration an answer names by its LRN, or (naming none) by its movement."""
        lrn, _mrn = named(partial)
        with self._lock:
            candidates = [self.sent[lrn]] if lrn in self.sent else [] if lrn else list(self.sent.values())
        for declaration in reversed(candidates):
            found = matching(declaration)(partial)
            if found is not None:
                return found
        return None

    def record_claim(self, claim: Claim) -> bool:
        """True the first time this claim arrives (customs may push a notification again)."""
        with self._lock:
            if claim.claim_id in self.claims:
                return False
            self.claims[claim.claim_id] = claim
            return True

    def forget_claim(self, claim_id: str) -> None:
        with self._lock:
            self.claims.pop(claim_id, None)

    def wait_for(self, message_id: str, timeout: float = 5.0) -> CustomsResponse | None:
        """The answer to declaration ``message_id``, waiting up to ``timeout`` seconds."""
        with self._lock:
            self._arrived.wait_for(lambda: message_id in self.answers, timeout)
            return self.answers.get(message_id)


def callback_app(
    inbox: Inbox | None = None,
    on_answer: OnAnswer | None = None,
    on_claim: OnClaim | None = None,
    answered: Answered | None = None,
) -> FastAPI:
    inbox = inbox or Inbox()
    app = FastAPI(title="eATA gateway callback", docs_url=None, redoc_url=None)
    app.add_exception_handler(StarletteHTTPException, http_handler)  # 404/405 as problem documents
    app.state.inbox = inbox

    def accept(territory: str, document: bytes) -> bool:
        answer = read_answer(registry.get(territory), document, answered or inbox.answered)
        # Applied first, received after: an answer whose application failed leaves no receipt behind, so
        # customs sending it again gets it applied (the store decides duplicates, in the effect's transaction).
        outcome = on_answer(territory, answer, document) if on_answer is not None else None
        first = inbox.record(answer)
        return first and outcome != "duplicate"

    def accept_claim(territory: str, document: bytes) -> bool:
        claim = read_claim(registry.get(territory), document)
        first = inbox.record_claim(claim)
        if first and on_claim is not None:
            try:
                on_claim(territory, claim, document)  # refusals (barred, over the cap) go back to customs
            except Exception:
                inbox.forget_claim(claim.claim_id)  # refused: customs may correct it and notify again
                raise
        return first

    @app.post("/callback/{territory}")
    async def rest(territory: str, request: Request) -> Response:
        try:
            first = accept(territory, await request.body())
        except Refusal as exc:
            inbox.refused.append(str(exc))
            return JSONResponse(exc.as_dict(), status_code=400)
        return JSONResponse({"received": True, "duplicate": not first})

    def soap_fault(soap_ns: str, exc: Refusal) -> Response:
        """A refusal as a SOAP fault in the caller's version; the status follows the fault's side."""
        p = exc.problems[0]
        client = sender_fault(p.code)
        data = fault(
            soap_ns,
            CALLBACK_NS,
            client=client,
            code=p.code,
            pointer=p.pointer,
            message=f"{p.message} ({p.article})" if p.article else p.message,
        )
        return Response(data, status_code=fault_status(soap_ns, client), media_type=CONTENT_TYPE[soap_ns])

    @app.get("/callback/{territory}/soap")
    async def wsdl(territory: str, request: Request) -> Response:
        """``?wsdl``: gateway-callback.wsdl, its ports' address set to this very URL (prefix included)."""
        if "wsdl" not in request.query_params:
            raise HTTPException(405, headers={"Allow": "POST"})  # SOAP calls are POSTed
        try:
            registry.get(territory)
        except Refusal:
            raise HTTPException(404) from None
        url = request.url.replace(query="", fragment="")
        if request.scope.get("state", {}).get("tls"):  # behind a trusted TLS-terminating proxy
            url = url.replace(scheme="https")
        data = wsdl_with_address(data_dir(CALLBACK_WSDL[0]).joinpath(*CALLBACK_WSDL[1:]), str(url))
        return Response(data, media_type="text/xml; charset=utf-8")

    @app.post("/callback/{territory}/soap")
    async def soap(territory: str, request: Request) -> Response:
        body = await request.body()
        try:
            call = parse_call(body)
        except Refusal as exc:  # malformed, hostile, not an envelope: a fault in the version it spoke
            inbox.refused.append(str(exc))
            return soap_fault(version_of(body, request.headers.get("content-type")), exc)
        try:
            if call.operation not in ("NotifyClaim", "NotifyEndorsement", "NotifyRejection"):
                raise refuse(
                    Code.UNKNOWN_FIELD,
                    f"/Envelope/Body/{call.operation}",
                    f"unknown operation {call.operation}; this endpoint offers NotifyEndorsement, "
                    "NotifyRejection and NotifyClaim",
                )
            document = call.binary("document")
            if call.operation == "NotifyClaim":
                first = accept_claim(territory, document)
            else:
                first = accept(territory, document)
        except Refusal as exc:
            inbox.refused.append(str(exc))
            return soap_fault(call.soap_ns, exc)
        except Exception:  # ours, not the sender's: a Receiver fault, so customs send it again later
            log.exception("callback: applying a %s from %s failed", call.operation, territory)
            return soap_fault(
                call.soap_ns,
                refuse(
                    Code.INTERNAL, "", "the gateway could not process this notification now; send it again"
                ),
            )
        receipt = element(
            CALLBACK_NS, "NotifyReceipt", {"received": "true", "duplicate": "false" if first else "true"}
        )
        return Response(envelope(call.soap_ns, receipt), media_type=CONTENT_TYPE[call.soap_ns])

    return app
