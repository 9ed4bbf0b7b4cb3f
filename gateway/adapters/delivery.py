"""Deliver one declaration to its territory's customs system: the function the relay worker calls.

``deliver(message, territory) -> Delivered | RetryableFailure | FinalFailure``

- ``message`` is a :class:`~gateway.messages.Declaration` (the adapter's ``prepare`` quirk runs, then it is
  encoded in the adapter's dialect with its mapping params, XSD-checked and signed with the adapter's
  key) or ``bytes`` of an already signed national document (sent as is; ``message_id`` is read from it
  when not given).
- The document goes through the adapter's transport (SOAP or REST) with its timeouts and in-process
  retries with exponential backoff; only retryable failures are retried.
- **Delivered(response, ack_id, message)**: customs took it. ``response`` is the signed answer when it
  answered at once (SOAP); ``message`` is that answer verified (signed by one of the territory's own signers, under its anchors) and
  decoded into a :class:`~gateway.messages.Response` (endorsement or rejection — a customs rejection is a
  delivered answer, not a failure). ``response is None`` means acknowledged only (REST/CDS): the decision
  arrives at the callback (:mod:`gateway.api.callback`) or by :func:`query_status`.
- **RetryableFailure(code, reason)**: 503 unreachable / HTTP 5xx, 504 timed out, 500 SOAP server fault or
  a malformed answer. Safe to retry later: customs systems are idempotent by message ID.
- **FinalFailure(code, reason)**: 4xx or SOAP client fault (the fault's own code, e.g. 121 when customs
  could not verify our signature, else 510), 305 credentials refused, 120–123 an answer whose signature
  is missing, invalid or untrusted, 500 an answer to another message. Never retried: dead letter.
- A local problem before sending (no key, encoding refused) raises :class:`~gateway.errors.Refusal`:
  the relay treats a raise as poison and dead-letters it with the refusal's code.
- Calling it twice with the same message is safe: same message ID, and customs answer it once.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from gateway.adapter_spec import Adapter
from gateway.adapters import registry
from gateway.adapters.trust import absolute, territory_verifier
from gateway.codec import decode, encode
from gateway.errors import Code, Refusal, refuse
from gateway.messages import Declaration, Response
from gateway.model import Claim
from gateway.model.load import problems_from_validation
from gateway.settings import Link, current
from gateway.signing import Signer, Verifier, load_signing_key
from gateway.translate.core import Context
from gateway.transport import rest, soap
from gateway.transport.base import Delivered, FinalFailure, Outcome, RetryableFailure, with_retries
from gateway.xmlsafe import parse_xml

_SIGNATURE_CODES = range(Code.SIGNATURE_MISSING, Code.WEAK_ALGORITHM + 1)


@cache
def signer(directory: Path, name: str) -> Signer:
    """Signing keys are loaded once per process (parsing a key costs ~37 ms, signing ~0.5 ms)."""
    return Signer(load_signing_key(directory / f"{name}.key.pem", directory / f"{name}.cert.pem"))


def verifier(adapter: Adapter, keys: Path | None = None) -> Verifier:
    """Answers and claims of ``adapter``'s territory: signed by one of its signers, under its anchors
    (in ``keys``, else the current settings' keys directory)."""
    return territory_verifier(adapter, keys or current().keys_dir)


def encode_for(adapter: Adapter, declaration: Declaration, keys: Path | None = None) -> bytes:
    """The signed national document for ``declaration`` in ``adapter``'s dialect and customisation."""
    if adapter.prepare is not None:
        declaration = adapter.prepare(declaration)
    return encode(
        declaration,
        adapter.code,
        signer(absolute(keys or current().keys_dir), adapter.signing_key),
        dialect=adapter.dialect(declaration.kind),
        params=adapter.mapping_params(),
    )


def read_answer(adapter: Adapter, data: bytes, context: Context = None, keys: Path | None = None) -> Response:
    """Verify a customs answer against the territory's trust anchors and decode the signed content only.

    ``context`` (the declaration answered, or what the gateway knows of it) fills what a national answer
    cannot carry, e.g. the carnet and transaction IDs of an NCTS IE025.
    """
    message = decode(data, adapter.code, verifier(adapter, keys), context=context)
    if not isinstance(message, Response):
        raise refuse(Code.SCHEMA, "/", "customs answered with a document that is not a response")
    return message


def read_claim(adapter: Adapter, data: bytes) -> Claim:
    """A customs claim pushed by territory ``adapter`` (NotifyClaim): a chain ``claim_notified`` message
    signed under the territory's trust anchors, naming that territory's customs as sender (Annex A Art. 8.1:
    claims come from the customs of the territory where the duties arose)."""
    from gateway.chain.message import ChainKind, read
    from gateway.codec import without_signature

    verified = verifier(adapter).verify(data)
    msg = read(without_signature(verified.signed_root))
    if msg.get("Kind") != ChainKind.CLAIM_NOTIFIED.value:
        raise refuse(Code.BAD_VALUE, "/ChainMessage/Kind", f"a claim notification, not {msg.get('Kind')}")
    if str(msg.get("From")).lower() != f"customs-{adapter.code}".lower():
        raise refuse(
            Code.NOT_AUTHORISED,
            "/ChainMessage/From",
            f"only customs of {adapter.code} notify claims here, not {msg.get('From')}",
        )
    try:
        # JSON mode: amounts travel as strings, and the model is strict
        claim = Claim.model_validate_json(json.dumps(msg["Payload"].get("claim")))
    except ValidationError as exc:
        at = "/ChainMessage/Payload/claim"
        raise Refusal([replace(p, pointer=at + p.pointer) for p in problems_from_validation(exc)]) from None
    if claim.territory != adapter.code:
        raise refuse(
            Code.NOT_AUTHORISED,
            "/ChainMessage/Payload/claim/territory",
            f"customs of {adapter.code} cannot claim duties of {claim.territory}",
        )
    return claim


def _message_id(document: bytes) -> str:
    root = parse_xml(document)
    for path in (".//{*}FunctionalReferenceID", ".//{*}messageIdentification", ".//{*}MessageIdentification"):
        found = root.find(path)
        if found is not None and found.text:
            return found.text.strip()
    raise refuse(Code.MISSING, "/", "the document carries no message ID; pass message_id")


def _send(adapter: Adapter) -> Callable[..., Outcome]:
    # the hot path: no httpx per request (REST still fetches its OAuth token over httpx)
    return functools.partial(rest.submit if adapter.transport == "rest" else soap.submit, lean=True)


def deliver(
    message: Declaration | bytes,
    territory: str,
    *,
    message_id: str | None = None,
    adapter: Adapter | None = None,
    link: Link | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Encode (if needed), send with retries, and verify the answer; see the module docstring. ``link``
    (else the current settings') says where and with which keys."""
    adapter = adapter or registry.get(territory)
    link = link or current().link(adapter)
    if isinstance(message, Declaration):
        document, message_id = encode_for(adapter, message, link.keys_dir), message.message_id
    else:
        document, message_id = message, message_id or _message_id(message)
    send = _send(adapter)
    outcome = with_retries(adapter, lambda: send(adapter, document, message_id, link=link), sleep)
    if not isinstance(outcome, Delivered) or outcome.response is None:
        return outcome
    context = answered(message) if isinstance(message, Declaration) else _own(document, adapter.code)
    return _checked(adapter, outcome, message_id, context, link.keys_dir)


def _own(document: bytes, territory: str) -> Context:
    """The context of an answer to an already signed document we send as is: that document, read back
    (our own; its signature was ours), when it is a declaration that can be read alone."""
    from gateway.codec import without_signature
    from gateway.translate import from_xml

    try:
        sent = from_xml(without_signature(parse_xml(document)), territory)
    except Refusal:
        return None
    return answered(sent) if isinstance(sent, Declaration) else None


def answered(declaration: Declaration) -> Context:
    """The context of an answer to ``declaration``: the declaration itself, but only for an answer naming
    its LRN (or, naming none, its movement's MRN); any other answer is refused 314 (gateway.correlation)."""
    from gateway.correlation import matching

    return matching(declaration)


def _checked(
    adapter: Adapter, outcome: Delivered, message_id: str, context: Context = None, keys: Path | None = None
) -> Outcome:
    try:
        answer = read_answer(adapter, outcome.response or b"", context, keys)
    except Refusal as exc:
        if exc.code in _SIGNATURE_CODES:
            return FinalFailure(exc.code, f"customs answer not trustworthy: {exc}", outcome.attempts)
        if exc.code == Code.UNKNOWN_REFERENCE:  # answers something never sent: attached to nothing
            return FinalFailure(exc.code, f"customs answer refused: {exc}", outcome.attempts)
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answer unreadable: {exc}", outcome.attempts)
    if answer.in_reply_to != message_id:
        return FinalFailure(
            Code.CUSTOMS_FAULT, f"customs answered {answer.in_reply_to}, not {message_id}", outcome.attempts
        )
    return replace(outcome, message=answer)


def query_status(
    territory: str,
    message_id: str,
    *,
    adapter: Adapter | None = None,
    context: Context = None,
    link: Link | None = None,
) -> Outcome:
    """Ask customs for the decision on an acknowledged message (QueryStatus / GET), verified like deliver;
    ``context`` (e.g. :func:`answered` of the declaration) finds what the answer does not name."""
    adapter = adapter or registry.get(territory)
    link = link or current().link(adapter)
    ask = (
        rest.query_status if adapter.transport == "rest" else functools.partial(soap.query_status, lean=True)
    )
    outcome = ask(adapter, message_id, link=link)
    if not isinstance(outcome, Delivered) or outcome.response is None:
        return outcome
    return _checked(adapter, outcome, message_id, context, link.keys_dir)


UNAVAILABLE_AFTER = 3  # relay attempts (each with its own in-process retries) before customs counts as down


def relay_deliver(envelope: object) -> object:
    """The delivery callable for :class:`gateway.relay.worker.Worker` (``Deliver``).

    The envelope body is a declaration as JSON (``application/json``) or an already signed national
    document; its territory picks the adapter. The result event is JSON, as :mod:`gateway.api.results`
    reads it: ``answer`` (the signed customs document), ``acknowledged`` (the decision comes by callback)
    or ``unavailable`` (customs down past its limit: the grace policy decides paper fallback or hold).
    """
    # a gateway.relay Envelope, not imported: gateway.adapters stays below the relay (no package cycle)
    body: bytes = envelope.body  # type: ignore[attr-defined]
    territory: str = envelope.territory  # type: ignore[attr-defined]
    attempt: int = getattr(envelope, "attempt", 1)
    if getattr(envelope, "content_type", "").endswith("json"):
        outcome = deliver(Declaration.model_validate_json(body), territory)
    else:
        outcome = deliver(body, territory)
    return to_relay(outcome, attempt=attempt)


def to_relay(outcome: Outcome, *, attempt: int = 1, unavailable_after: int = UNAVAILABLE_AFTER) -> object:
    """The relay worker's outcome (:mod:`gateway.relay.outcome`) for a delivery outcome."""
    import base64
    import json

    from gateway.relay.outcome import Done, Final, Retry

    event: dict[str, object]
    if isinstance(outcome, Delivered):
        if outcome.response is None:
            event = {"outcome": "acknowledged", "ack_id": outcome.ack_id}
        else:
            event = {"outcome": "answer", "document": base64.b64encode(outcome.response).decode()}
        return Done(result_event=json.dumps(event).encode())
    if isinstance(outcome, RetryableFailure):
        if attempt >= unavailable_after:
            event = {
                "outcome": "unavailable",
                "code": outcome.code,
                "reason": outcome.reason,
                "attempts": attempt,
            }
            return Done(result_event=json.dumps(event).encode())
        return Retry(outcome.reason, outcome.code)
    return Final(outcome.code, outcome.reason)
