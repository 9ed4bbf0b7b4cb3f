"""The REST API over real HTTP: issuing, PIN download, signing, travels with ETags, isolation."""

from __future__ import annotations

import pytest

from tests.api.conftest import TRAVEL, Gateway, day, draft_carnet

CID = "NO/2026/000123"


def issued(gw: Gateway, cid: str = CID, pin: str = "482913") -> None:
    with gw.client("issuer") as c:
        assert c.post("/v1/carnets", json={"carnet": draft_carnet(cid), "pin": pin}).status_code == 201
        r = c.post(f"/v1/carnets/{cid}/issue")
        assert r.status_code == 200, r.text
        assert r.json()["carnet"]["status"] == "issued"


def downloaded(gw: Gateway, cid: str = CID) -> None:
    issued(gw, cid)
    with gw.client("holder") as h:
        r = h.post(f"/v1/carnets/{cid}/download", json={"pin": "482913"})
        assert r.status_code == 200, r.text


def test_issue_download_sign(gateway: Gateway) -> None:
    downloaded(gateway)
    with gateway.client("holder") as h:
        r = h.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"})
        assert r.status_code == 200
        assert r.json()["carnet"]["signature"]["signer"] == "Ingrid Berg"


def test_pin_is_hashed_and_wrong_pins_are_limited(gateway: Gateway) -> None:
    issued(gateway)
    with gateway.service.db.engine.connect() as c:
        stored = c.exec_driver_sql("select pin_hash from carnets").scalar_one()
    assert "482913" not in stored and stored.startswith("scrypt$")
    with gateway.client("holder") as h:
        for _ in range(5):
            assert h.post(f"/v1/carnets/{CID}/download", json={"pin": "000000"}).status_code == 404
        r = h.post(f"/v1/carnets/{CID}/download", json={"pin": "482913"})  # even the right PIN waits now
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["problems"][0]["pointer"] == "/pin"


def test_unauthenticated_and_wrong_roles_are_denied(gateway: Gateway) -> None:
    with gateway.client("nobody") as anon:
        assert anon.post("/v1/carnets", json={"carnet": draft_carnet(), "pin": "123456"}).status_code == 403
    with gateway.client("holder") as h:
        r = h.post("/v1/carnets", json={"carnet": draft_carnet(), "pin": "123456"})
        assert r.status_code == 403 and r.json()["problems"][0]["code"] == 305
    issued(gateway)
    with gateway.client("customs_ch") as c:
        assert c.post(f"/v1/carnets/{CID}/download", json={"pin": "482913"}).status_code == 403


@pytest.mark.parametrize("who", ["issuer2", "holder2", "rep", "chain", "customs_ch"])
def test_other_parties_cannot_see_a_carnet(gateway: Gateway, who: str) -> None:
    downloaded(gateway)
    with gateway.client(who) as c:
        assert c.get(f"/v1/carnets/{CID}").status_code in (403, 404)
        assert c.post(f"/v1/carnets/{CID}/signature", json={"signer": "X"}).status_code in (403, 404)
        assert c.post(f"/v1/carnets/{CID}/issue").status_code in (403, 404)


def test_a_downloaded_carnet_cannot_be_taken_by_another_holder(gateway: Gateway) -> None:
    downloaded(gateway)
    with gateway.client("holder2") as h2:
        r = h2.post(f"/v1/carnets/{CID}/download", json={"pin": "482913"})
        assert r.status_code == 403


def test_travels_use_optimistic_concurrency(gateway: Gateway) -> None:
    downloaded(gateway)
    travel = dict(TRAVEL)
    with gateway.client("holder") as phone, gateway.client("holder") as laptop:
        r = phone.post(f"/v1/carnets/{CID}/travels", json=travel)
        assert r.status_code == 201 and r.headers["ETag"] == '"1"'
        assert (
            laptop.put(f"/v1/carnets/{CID}/travels/t1", json={**travel, "nickname": "x"}).status_code == 428
        )
        ok = phone.put(
            f"/v1/carnets/{CID}/travels/t1",
            json={**travel, "nickname": "Swiss shoot v2"},
            headers={"If-Match": '"1"'},
        )
        assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
        stale = laptop.put(
            f"/v1/carnets/{CID}/travels/t1",
            json={**travel, "nickname": "laptop"},
            headers={"If-Match": '"1"'},
        )
        assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'
        assert phone.get(f"/v1/carnets/{CID}/travels/t1").json()["nickname"] == "Swiss shoot v2"
        bad = phone.put(
            f"/v1/carnets/{CID}/travels/t1",
            json={**travel, "declared_items": "4-1"},
            headers={"If-Match": '"2"'},
        )
        assert bad.status_code == 422 and bad.json()["problems"][0]["code"] == 106
        assert phone.delete(f"/v1/carnets/{CID}/travels/t1", headers={"If-Match": '"1"'}).status_code == 412
        assert phone.delete(f"/v1/carnets/{CID}/travels/t1", headers={"If-Match": '"2"'}).status_code == 204


def test_prepared_transaction_gets_codes_and_qr(gateway: Gateway) -> None:
    downloaded(gateway)
    with gateway.client("holder") as h:
        h.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"})
        r = h.post(
            f"/v1/carnets/{CID}/transactions",
            json={
                "kind": "activation",
                "territory": "NO",
                "office": "NO01011A",
                "date": day(1),
                "items": "all",
            },
        )
        assert r.status_code == 201, r.text
        tx = r.json()
        assert tx["state"] == "prepared" and len(tx["transaction_code"]) == 8
        png = h.get(f"/v1/carnets/{CID}/transactions/{tx['transaction_id']}/qr.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        svg = h.get(f"/v1/carnets/{CID}/transactions/{tx['transaction_id']}/qr.svg")
        assert b"<svg" in svg.content
        refused = h.post(
            f"/v1/carnets/{CID}/transactions",
            json={
                "kind": "re_exportation",
                "territory": "CH",
                "office": "CH001801",
                "date": day(2),
                "items": "1",
            },
        )
        assert (
            refused.status_code == 409 and refused.json()["problems"][0]["code"] == 201
        )  # not activated yet


def test_amendment_voids_signature_and_item_additions_are_refused(gateway: Gateway) -> None:
    downloaded(gateway)
    with gateway.client("holder") as h:
        h.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"})
    with gateway.client("issuer") as c:
        add = {
            "amended_on": day(0),
            "reason": "a drone",
            "consent_by": "OCC",
            "changes": [{"op": "add", "path": "/general_list/-", "value": "drone"}],
        }
        r = c.post(f"/v1/carnets/{CID}/amendments", json=add)
        assert r.status_code == 422 and r.json()["problems"][0]["code"] == 309
        fix = {
            **add,
            "changes": [{"op": "replace", "path": "/holder/address/street", "value": "Kirkegata 17"}],
        }
        r = c.post(f"/v1/carnets/{CID}/amendments", json=fix)
        assert r.status_code == 200 and r.json()["carnet"]["signature"] is None


def test_operations_endpoints(gateway: Gateway) -> None:
    with gateway.client("nobody") as c:
        assert c.get("/healthz").json()["status"] == "ok"
        assert c.get("/readyz").status_code == 200
        assert "eata_submissions_total" in c.get("/metrics").text
        assert c.get("/openapi.json").json()["info"]["title"] == "eATA gateway"
