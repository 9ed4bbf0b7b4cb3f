"""Customs push decisions to the gateway's callback: REST bodies and gateway-callback.wsdl SOAP calls."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import zeep
import zeep.exceptions

from conformance.simulators.testing import World, journey_declaration
from gateway.adapters import registry
from gateway.adapters.delivery import signer
from gateway.codec import encode
from gateway.messages import Response
from gateway.model import Endorsement
from gateway.transport.soap import HttpxTransport, wsdl_document


def _signed_answer(world: World, code: str, in_reply_to: str) -> tuple[Response, bytes]:
    d = journey_declaration(code, message_id=in_reply_to)
    world.inbox.expect(d)  # real answers name only the LRN: the callback matches them to what was sent
    response = Response(
        message_id=f"N{in_reply_to}",
        in_reply_to=in_reply_to,
        carnet_id=d.carnet_id,
        transaction_id=d.transaction_id,
        kind=d.kind,
        endorsement=Endorsement(
            office=d.office,
            place="Push test",
            at=dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC),
            reference="PUSH-1",
            officer="Officer",
        ),
    )
    return response, encode(response, code, signer(world.keys_dir.resolve(), registry.get(code).sim_key))


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_zeep_client_of_the_callback_wsdl_notifies_once(world: World, version: str) -> None:
    response, data = _signed_answer(world, "NO", f"CB{version.replace('.', '')}")
    client = zeep.Client(
        wsdl_document("gateway-callback.wsdl"), transport=HttpxTransport(httpx.Client(trust_env=False))
    )
    binding = f"{{urn:eata:gateway:callback:1}}GatewayCallbackSoap{version.replace('.', '')}"
    service = client.create_service(binding, f"{world.callback.url}/callback/NO/soap")
    first = service.NotifyEndorsement(inReplyTo=response.in_reply_to, document=data)
    again = service.NotifyEndorsement(inReplyTo=response.in_reply_to, document=data)
    assert (first.received, first.duplicate, again.duplicate) == (True, False, True)
    assert world.inbox.answers[response.in_reply_to] == response
    assert world.inbox.effects[response.message_id] == 1


def test_callback_refuses_a_forged_notification(world: World) -> None:
    _, data = _signed_answer(world, "GB", "FORGED-1")
    forged = data.replace(b"Push test", b"Push t3st")
    r = httpx.post(f"{world.callback.url}/callback/GB", content=forged, trust_env=False)
    assert r.status_code == 400 and r.json()["problems"][0]["code"] == 121
    client = zeep.Client(
        wsdl_document("gateway-callback.wsdl"), transport=HttpxTransport(httpx.Client(trust_env=False))
    )
    service = client.create_service(
        "{urn:eata:gateway:callback:1}GatewayCallbackSoap11", f"{world.callback.url}/callback/GB/soap"
    )
    with pytest.raises(zeep.exceptions.Fault):
        service.NotifyRejection(document=forged)
    assert "FORGED-1" not in world.inbox.answers
