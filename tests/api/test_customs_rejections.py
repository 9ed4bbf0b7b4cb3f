"""Rejections kept and shown to the customs that gave them (issue 14, item 9), over real HTTP: a customs party
of a territory reads, through ``/v1/customs/transactions``, the vouchers declared to it with its own
rejections, oldest first, through resubmissions and the final commit — and nothing of other territories,
nor carnet contents it may not see."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from gateway.messages import Response
from gateway.model import Endorsement, Rejection, TransactionKind
from tests.api.conftest import TRAVEL, Gateway, day, draft_carnet

CID = "NO/2026/000123"
PIN = "482913"


def ok(r: httpx.Response, status: int = 200):  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def customs(gw: Gateway, territory: str) -> str:
    name = f"customs_{territory.lower()}"
    if name not in gw.keys:
        gw.keys[name] = gw.service.db.add_party("customs", name, territory)[1]
    return name


def declare(gw: Gateway, kind: str, office: str, items: str = "1-4", **extra) -> str:  # type: ignore[no-untyped-def]
    body = {"kind": kind, "territory": office[:2], "office": office, "date": day(0), "items": items}
    with gw.client("holder") as holder:
        tx = ok(
            holder.post(f"/v1/carnets/{CID}/transactions", json={**body, "travel_id": "t1", **extra}), 201
        )
    return tx["transaction_id"]


def submit(gw: Gateway, tid: str) -> str:
    with gw.client("holder") as holder:
        ok(holder.post(f"/v1/carnets/{CID}/transactions/{tid}/submit"), 202)
    return gw.service.db.latest_submission(tid)["message_id"]


def answer(gw: Gateway, tid: str, kind: str, office: str, n: int, *, reject: str | None = None, **e) -> str:  # type: ignore[no-untyped-def]
    sent = submit(gw, tid)
    at = datetime.now(UTC).replace(microsecond=0)
    common = {
        "message_id": f"{office[:2]}-ANSWER-{tid}-{n}",
        "in_reply_to": sent,
        "carnet_id": CID,
        "transaction_id": tid,
        "kind": TransactionKind(kind),
    }
    if reject:
        rejection = Rejection(office=office, at=at, code=510, reason=reject, officer=f"Officer {n}")
        return gw.service.apply_response(Response(**common, rejection=rejection), office[:2])
    stamp = Endorsement(office=office, at=at, reference=f"REF-{n}", officer="Officer", **e)
    return gw.service.apply_response(Response(**common, endorsement=stamp), office[:2])


def journey(gw: Gateway) -> dict[str, str]:
    """Activation and export in Norway (each rejected once before the commit), a Swiss importation rejected
    twice and then committed."""
    with gw.client("issuer") as issuer, gw.client("holder") as holder:
        ok(issuer.post("/v1/carnets", json={"carnet": draft_carnet(CID), "pin": PIN}), 201)
        ok(issuer.post(f"/v1/carnets/{CID}/issue"))
        ok(holder.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}))
        ok(holder.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"}))
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
    act = declare(gw, "activation", "NO01011A", "all")
    assert answer(gw, act, "activation", "NO01011A", 1, reject="carnet cover not presented") == "rejected"
    assert answer(gw, act, "activation", "NO01011A", 2) == "committed"
    exp = declare(gw, "exportation", "NO02011B")
    assert answer(gw, exp, "exportation", "NO02011B", 3, reject="goods not presented") == "rejected"
    assert answer(gw, exp, "exportation", "NO02011B", 4) == "committed"
    imp = declare(gw, "importation", "CH001801", intended_place_of_use="Lauterbrunnen")
    assert answer(gw, imp, "importation", "CH001801", 5, reject="seal numbers differ") == "rejected"
    assert answer(gw, imp, "importation", "CH001801", 6, reject="item 3 missing") == "rejected"
    assert answer(gw, imp, "importation", "CH001801", 7) == "committed"
    return {"activation": act, "exportation": exp, "importation": imp}


def test_customs_read_their_own_rejections_through_later_submissions_and_the_commit(gateway: Gateway) -> None:
    tids = journey(gateway)
    with gateway.client("customs_ch") as ch:
        listed = ok(ch.get("/v1/customs/transactions"))
        assert [t["transaction_id"] for t in listed] == [tids["importation"]]
        [imp] = listed
        assert imp["carnet_id"] == CID and imp["state"] == "committed"
        assert (imp["kind"], imp["office"], imp["items"]) == ("importation", "CH001801", "1-4")
        assert [r["reason"] for r in imp["rejections"]] == ["seal numbers differ", "item 3 missing"]
        assert all(r["office"] == "CH001801" and r["code"] == 510 for r in imp["rejections"])
        one = ok(ch.get(f"/v1/customs/transactions/{CID}/{tids['importation']}"))
        assert one == imp
        assert ok(ch.get("/v1/customs/transactions", params={"carnet_id": CID})) == listed
        assert ok(ch.get("/v1/customs/transactions", params={"carnet_id": "NO/2026/999999"})) == []
    with gateway.client(customs(gateway, "NO")) as no:
        listed = ok(no.get("/v1/customs/transactions"))
        assert [t["transaction_id"] for t in listed] == [tids["activation"], tids["exportation"]]
        assert [[r["reason"] for r in t["rejections"]] for t in listed] == [
            ["carnet cover not presented"],
            ["goods not presented"],
        ]


def test_customs_see_nothing_of_other_territories_nor_what_the_carnet_holds(gateway: Gateway) -> None:
    tids = journey(gateway)
    doc = gateway.service.db.carnet(CID).doc
    secret = [t.cancellation_code for t in doc.transactions]
    with gateway.client("customs_ch") as ch, gateway.client("customs_de") as de:
        text = ch.get("/v1/customs/transactions").text
        for hidden in (*secret, "Nordlys Film", "Alexa", "Ingrid Berg", "goods not presented"):
            assert hidden not in text, hidden
        # another territory's voucher: not found, as if it did not exist
        for tid in (tids["activation"], tids["exportation"]):
            r = ch.get(f"/v1/customs/transactions/{CID}/{tid}")
            assert r.status_code == 404 and r.json()["problems"][0]["code"] == 301
        assert ch.get(f"/v1/customs/transactions/{CID}/nosuchtransaction").status_code == 404
        # an EU member state sees none of it: no voucher was declared to it
        assert ok(de.get("/v1/customs/transactions")) == []
        assert de.get(f"/v1/customs/transactions/{CID}/{tids['importation']}").status_code == 404


def test_only_customs_read_the_rejection_history(gateway: Gateway) -> None:
    tids = journey(gateway)
    for who in ("holder", "issuer", "rep", "chain", "operator"):
        with gateway.client(who) as c:
            for path in ("/v1/customs/transactions", f"/v1/customs/transactions/{CID}/{tids['importation']}"):
                r = c.get(path)
                assert r.status_code == 403 and r.json()["problems"][0]["code"] == 305, (who, r.text)
    with gateway.client("anonymous") as nobody:
        assert nobody.get("/v1/customs/transactions").status_code in (401, 403)


def test_a_voucher_only_prepared_is_not_shown_to_customs(gateway: Gateway) -> None:
    journey(gateway)
    late = declare(gateway, "re_exportation", "CH002771")
    with gateway.client("customs_ch") as ch:
        assert late not in json.dumps(ok(ch.get("/v1/customs/transactions")))
        assert ch.get(f"/v1/customs/transactions/{CID}/{late}").status_code == 404
        submit(gateway, late)
        shown = ok(ch.get(f"/v1/customs/transactions/{CID}/{late}"))
        assert shown["state"] == "submitted" and shown["rejections"] == []
