"""Where customs push decisions: the gateway's callback endpoint (REST and gateway-callback.wsdl SOAP).

- ``POST /callback/XX``       a signed national answer as the body (CDS-like notifications)
- ``POST /callback/XX/soap``  NotifyEndorsement / NotifyRejection / NotifyClaim (base64 document)

Each document is verified against territory XX's trust anchors and decoded from the signed content only.
Notifications are idempotent by the answer's message ID: a repeat is acknowledged and has no further
effect (``Inbox.effects`` counts 1). Verified answers go to ``on_answer`` (e.g. publish an eATA event);
verified claims (a chain ``claim_notified`` message signed by that territory's customs) go to ``on_claim``,
once per claim ID — the claims flow, whose refusals (barred, over the cap) answer customs as SOAP faults.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from gateway.bounded import Bounded
from gateway.errors import Code, Refusal, refuse
from gateway.messages import Response as CustomsResponse
from gateway.model import Claim
from gateway.transport.envelope import CALLBACK_NS, CONTENT_TYPE, element, envelope, fault, parse_call

OnAnswer = Callable[[str, CustomsResponse, bytes], None]
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
    inbox: Inbox | None = None, on_answer: OnAnswer | None = None, on_claim: OnClaim | None = None
) -> FastAPI:
    from gateway.adapters import registry
    from gateway.adapters.delivery import read_answer, read_claim

    inbox = inbox or Inbox()
    app = FastAPI(title="eATA gateway callback", docs_url=None, redoc_url=None)
    app.state.inbox = inbox

    def accept(territory: str, document: bytes) -> bool:
        answer = read_answer(registry.get(territory), document)
        first = inbox.record(answer)
        if first and on_answer is not None:
            on_answer(territory, answer, document)
        return first

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

    @app.post("/callback/{territory}/soap")
    async def soap(territory: str, request: Request) -> Response:
        body = await request.body()
        try:
            call = parse_call(body)
        except Refusal as exc:
            inbox.refused.append(str(exc))
            return JSONResponse(exc.as_dict(), status_code=400)
        try:
            document = call.binary("document")
            if call.operation == "NotifyClaim":
                first = accept_claim(territory, document)
            elif call.operation in ("NotifyEndorsement", "NotifyRejection"):
                first = accept(territory, document)
            else:
                raise refuse(Code.UNKNOWN_FIELD, "/Envelope/Body", f"unknown operation {call.operation}")
        except Refusal as exc:
            inbox.refused.append(str(exc))
            p = exc.problems[0]
            data = fault(
                call.soap_ns,
                CALLBACK_NS,
                client=True,
                code=p.code,
                pointer=p.pointer,
                message=f"{p.message} ({p.article})" if p.article else p.message,
            )
            return Response(data, status_code=500, media_type=CONTENT_TYPE[call.soap_ns])
        receipt = element(
            CALLBACK_NS, "NotifyReceipt", {"received": "true", "duplicate": "false" if first else "true"}
        )
        return Response(envelope(call.soap_ns, receipt), media_type=CONTENT_TYPE[call.soap_ns])

    return app
