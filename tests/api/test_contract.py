"""The OpenAPI document tells the truth: problem documents, the security schemes, the customs callback,
request-body examples that the API accepts as valid, and cursor pages on every list."""

from __future__ import annotations

import json

from gateway.api import bodies as b
from gateway.api.app import create_app
from gateway.api.callback import callback_app
from gateway.api.contract import PROBLEM_TYPE
from gateway.api.service import Service
from gateway.model import Amendment, Endorsement, Travel
from gateway.store import Database
from tests.api.conftest import Gateway, draft_carnet

MODELS = {
    m.__name__: m
    for m in (
        b.CreateCarnet,
        b.Replace,
        b.Download,
        b.SignCarnet,
        b.PrepareTransaction,
        b.Share,
        b.Subscribe,
        b.Cancel,
        b.DryRunTranslate,
        Amendment,
        Endorsement,
        Travel,
    )
}


def spec(tmp_path) -> dict:  # type: ignore[no-untyped-def]
    app = create_app(
        Service(Database(f"sqlite:///{tmp_path / 'g.db'}"), share_secret="s"), callback=callback_app()
    )
    return app.openapi()


def test_every_operation_documents_its_problems_and_security(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openapi_spec_validator import validate

    s = spec(tmp_path)
    validate(s)
    assert s["components"]["securitySchemes"]["ApiKey"] == {
        **s["components"]["securitySchemes"]["ApiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert s["components"]["securitySchemes"]["ClientCertificate"]["type"] == "mutualTLS"
    assert "HTTPValidationError" not in s["components"]["schemas"]
    for path, ops in s["paths"].items():
        for method, op in ops.items():
            assert all(p["name"].lower() != "x-api-key" for p in op.get("parameters", [])), (method, path)
            if not path.startswith("/v1/"):
                continue
            assert op["security"] == [{"ApiKey": []}, {"ClientCertificate": []}]
            for status in ("400", "403", "404", "409", "422"):
                content = op["responses"][status]["content"]
                assert content == {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "429" in s["paths"]["/v1/carnets/{carnet_id}/download"]["post"]["responses"]
    assert {"412", "428"} <= set(
        s["paths"]["/v1/carnets/{carnet_id}/travels/{travel_id}"]["put"]["responses"]
    )
    # the customs callback, REST and SOAP, and its WSDL
    assert "post" in s["paths"]["/customs/callback/{territory}"]
    assert {"get", "post"} <= set(s["paths"]["/customs/callback/{territory}/soap"])


def test_every_request_body_has_an_example_the_api_accepts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = spec(tmp_path)
    found = 0
    for ops in s["paths"].values():
        for op in ops.values():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            name = body["schema"]["$ref"].rsplit("/", 1)[-1]
            MODELS[name].model_validate_json(json.dumps(body["example"]))  # strict, as the API reads it
            found += 1
    assert found >= 12


def test_lists_are_cursor_pages_with_a_next_link(gateway: Gateway) -> None:
    carnet_id = "NO/2026/000555"
    with gateway.client("issuer") as issuer, gateway.client("holder") as holder:
        assert (
            issuer.post("/v1/carnets", json={"carnet": draft_carnet(carnet_id), "pin": "482913"}).status_code
            == 201
        )
        issuer.post(f"/v1/carnets/{carnet_id}/issue").raise_for_status()
        holder.post(f"/v1/carnets/{carnet_id}/download", json={"pin": "482913"}).raise_for_status()
        holder.post(f"/v1/carnets/{carnet_id}/signature", json={"signer": "Ingrid Berg"}).raise_for_status()
        for i in range(3):  # events of the carnet (in CH: what customs of CH see)
            gateway.service.db.add_event(
                carnet_id, "prepared", {"n": i}, transaction_id=f"tx-{i}", territory="CH"
            )
        first = holder.get("/v1/events", params={"limit": 2})
        assert first.status_code == 200 and len(first.json()) == 2
        link = first.headers["link"]
        assert link.endswith('rel="next"') and f"after={first.json()[-1]['id']}" in link
        after = first.json()[-1]["id"]
        second = holder.get(link[1 : link.index(">")])
        assert second.json()[0]["id"] > after
        assert holder.get("/v1/events", params={"limit": 0}).status_code == 422
    # customs see their territory's events in pages too (they used to get the oldest 500, always)
    with gateway.client("customs_ch") as ch:
        everything = ch.get("/v1/customs/events").json()
        assert len(everything) >= 3
        page = ch.get("/v1/customs/events", params={"after": everything[0]["id"], "limit": 1})
        assert [e["id"] for e in page.json()] == [everything[1]["id"]]
        assert 'rel="next"' in page.headers["link"]
        last = ch.get("/v1/customs/events", params={"after": everything[-1]["id"]})
        assert last.json() == [] and "link" not in last.headers
