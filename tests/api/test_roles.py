"""Who may see and do what, tried as each party would: the operator runs the gateway but reads no carnet,
the auditor reads every carnet and changes nothing, only customs of a voucher's territory record its paper
endorsement, and a share link shows a representative the vouchers and goods but never the cancellation code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import TRAVEL, Gateway, day, draft_carnet

CID = "NO/2026/000123"
PIN = "482913"


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json() if r.content else {}


def key(gw: Gateway, role: str, territory: str | None = None) -> str:
    name = f"{role}-{territory or 'any'}"
    if name not in gw.keys:
        gw.keys[name] = gw.service.db.add_party(role, name, territory)[1]
    return name


def prepared(gw: Gateway) -> dict:
    """An issued, downloaded, signed carnet with a travel and one prepared activation in Norway."""
    with gw.client("issuer") as issuer, gw.client("holder") as holder:
        ok(issuer.post("/v1/carnets", json={"carnet": draft_carnet(CID), "pin": PIN}), 201)
        ok(issuer.post(f"/v1/carnets/{CID}/issue"))
        ok(holder.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}))
        ok(holder.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"}))
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
        body = {
            "kind": "activation",
            "territory": "NO",
            "office": "NO01011A",
            "date": day(0),
            "items": "1-2",
            "travel_id": "t1",
        }
        return ok(holder.post(f"/v1/carnets/{CID}/transactions", json=body), 201)


STAMP = {
    "office": "NO01011A",
    "place": "Oslo",
    "at": "2026-06-01T10:00:00Z",
    "reference": "PAPER-1",
    "officer": "Officer Hansen",
}


def denied(r: httpx.Response, *statuses: int) -> None:
    assert r.status_code in (statuses or (403,)), r.text
    assert r.json()["problems"][0]["code"] in (305, 301)


# -- the operator -------------------------------------------------------------------------------------
def test_the_operator_reads_health_and_metadata_but_no_carnet(gateway: Gateway) -> None:
    tx = prepared(gateway)
    tid = tx["transaction_id"]
    with gateway.client("operator") as op:
        assert op.get("/healthz").status_code == 200 and op.get("/metrics").status_code == 200
        for path in (
            f"/v1/carnets/{CID}",
            f"/v1/carnets/{CID}/travels/t1",
            f"/v1/carnets/{CID}/transactions/{tid}/timeline",
            f"/v1/carnets/{CID}/transactions/{tid}/qr.png",
            "/v1/customs/events",
        ):
            denied(op.get(path))
        events = ok(op.get("/v1/events"))
        assert {e["kind"] for e in events} >= {"created", "issued", "prepared"}
        for e in events:
            assert set(e) == {"id", "carnet_id", "transaction_id", "territory", "kind", "at"}
        text = json.dumps(events)
        assert "Ingrid Berg" not in text and tx["cancellation_code"] not in text


@pytest.mark.parametrize("who", ["operator", "auditor", "customs_de", "customs_ch"])
def test_only_customs_of_the_territory_record_a_paper_endorsement(gateway: Gateway, who: str) -> None:
    tx = prepared(gateway)
    if who == "auditor":
        who = key(gateway, "auditor")
    path = f"/v1/customs/transactions/{CID}/{tx['transaction_id']}/paper-endorsement"
    with gateway.client(who) as c:
        denied(c.post(path, json=STAMP), 403, 404)
    assert gateway.service.db.carnet(CID).doc.transactions[0].state.value == "prepared"
    with gateway.client(key(gateway, "customs", "NO")) as customs_no:
        assert ok(customs_no.post(path, json=STAMP))["state"] == "committed"


# -- the auditor --------------------------------------------------------------------------------------------
def test_the_auditor_reads_every_carnet_and_changes_nothing(gateway: Gateway) -> None:
    tx = prepared(gateway)
    tid = tx["transaction_id"]
    auditor = key(gateway, "auditor")
    before = gateway.service.db.carnet(CID).version
    with gateway.client(auditor) as a:
        assert ok(a.get(f"/v1/carnets/{CID}"))["carnet"]["carnet_id"] == CID
        assert ok(a.get(f"/v1/carnets/{CID}/travels/t1"))["travel_id"] == "t1"
        assert [e["kind"] for e in ok(a.get(f"/v1/carnets/{CID}/transactions/{tid}/timeline"))] == [
            "prepared"
        ]
        assert all("detail" in e for e in ok(a.get("/v1/events")))
        for method, path, body in [
            ("POST", f"/v1/carnets/{CID}/issue", None),
            ("POST", f"/v1/carnets/{CID}/close", None),
            ("POST", f"/v1/carnets/{CID}/signature", {"signer": "Auditor"}),
            ("POST", f"/v1/carnets/{CID}/travels", {**TRAVEL, "travel_id": "t2"}),
            ("PUT", f"/v1/carnets/{CID}/travels/t1", TRAVEL),
            ("POST", f"/v1/carnets/{CID}/transactions/{tid}/submit", None),
            ("POST", f"/v1/carnets/{CID}/travels/t1/shares", {"transactions": [tid], "ttl_s": 60}),
            ("POST", f"/v1/customs/transactions/{CID}/{tid}/cancel", {"code": "ABCDEFGH", "reason": "x"}),
            ("POST", f"/v1/customs/transactions/{CID}/{tid}/paper-endorsement", STAMP),
        ]:
            denied(a.request(method, path, json=body, headers={"If-Match": '"1"'}))
    assert gateway.service.db.carnet(CID).version == before


# -- share links ----------------------------------------------------------------------------------------------
def test_a_share_link_shows_vouchers_and_goods_but_never_the_cancellation_code(gateway: Gateway) -> None:
    tx = prepared(gateway)
    with gateway.client("holder") as holder:
        link = ok(
            holder.post(
                f"/v1/carnets/{CID}/travels/t1/shares",
                json={"transactions": [tx["transaction_id"]], "ttl_s": 600},
            ),
            201,
        )["link"]
    with gateway.client("rep") as rep:
        r = rep.get(f"/v1/shared/{link}")
    shared = ok(r)
    assert "cancellation_code" not in r.text and tx["cancellation_code"] not in r.text
    (voucher,) = shared["vouchers"]
    assert voucher["transaction_code"] == tx["transaction_code"] and voucher["office"] == "NO01011A"
    assert [i["item_number"] for i in shared["items"]] == [1, 2]
    assert shared["items"][0]["description"]


# -- the command line grants the auditor role --------------------------------------------------------------------
def test_parties_add_grants_the_auditor_role(tmp_path: Path) -> None:
    env = {**os.environ, "EATA_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"}
    r = subprocess.run(
        [sys.executable, "-m", "gateway", "parties", "add", "--role", "auditor", "--name", "Audit", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["role"] == "auditor"
