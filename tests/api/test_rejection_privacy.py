"""A rejection's reason is read only by customs of the territory that gave it (docs/domain.md): the holder,
the issuing association, an auditor, a representative's share link, the events page, server-sent events
and the timeline learn that customs of CH refused the voucher, never why, with which code or by whom."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi import Response as Reply

from gateway.api.destinations import DestinationPolicy
from gateway.api.services.views import NOTICE
from gateway.api.webhooks import WebhookDispatcher
from gateway.serving import serving
from tests.api.conftest import Gateway
from tests.api.test_customs_rejections import CID, PIN, answer, declare, ok
from tests.api.test_paper_reconcile import exported

REASON = "invoice for item 3 missing, see Swiss order 631.0"
OFFICER = "Officer Brunner"


def rejected_in_ch(gw: Gateway) -> str:
    exported(gw)
    imp = declare(gw, "importation", "CH001801", intended_place_of_use="Lauterbrunnen")
    assert answer(gw, imp, "importation", "CH001801", 3, reject=REASON) == "rejected"
    return imp


def hidden(text: str) -> None:
    for secret in (REASON, "Officer 3", OFFICER):
        assert secret not in text, secret


def test_only_ch_customs_read_why_ch_customs_refused_the_voucher(gateway: Gateway) -> None:
    imp = rejected_in_ch(gateway)
    notice = NOTICE.format(territory="CH")
    auditor = "auditor"
    gateway.keys[auditor] = gateway.service.db.add_party("auditor", auditor)[1]
    for who in ("holder", "issuer", auditor):
        with gateway.client(who) as c:
            r = c.get(f"/v1/carnets/{CID}")
            hidden(r.text)
            tx = next(t for t in ok(r)["transactions"] if t["transaction_id"] == imp)
            assert tx["state"] == "rejected" and tx["rejection"]["notice"] == notice, who
            assert (
                set(tx["rejection"]) == {"territory", "notice", "at"} and tx["rejection"]["territory"] == "CH"
            )
            assert [set(x) for x in tx["rejections"]] == [{"territory", "notice", "at"}]
            events = c.get("/v1/events")
            hidden(events.text)
            assert any(e["kind"] == "rejected" and e["detail"]["notice"] == notice for e in ok(events))
    with gateway.client("holder") as holder:
        hidden(holder.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}).text)
        timeline = holder.get(f"/v1/carnets/{CID}/transactions/{imp}/timeline")
        hidden(timeline.text)
        assert [e["detail"] for e in ok(timeline) if e["kind"] == "rejected"] == [
            {"territory": "CH", "notice": notice, "at": ok(timeline)[-1]["detail"]["at"]}
        ]
        with holder.stream("GET", "/v1/events", params={"wait_s": 0.5}) as sse:
            streamed = "".join(sse.iter_text())
        assert "event: rejected" in streamed and notice in streamed
        hidden(streamed)
        link = ok(
            holder.post(f"/v1/carnets/{CID}/travels/t1/shares", json={"transactions": [imp], "ttl_s": 600}),
            201,
        )
    with gateway.client("rep") as rep:
        shared = rep.get(f"/v1/shared/{link['link']}")
        hidden(shared.text)
        assert ok(shared)["vouchers"][0]["rejection"]["notice"] == notice
    with gateway.client("customs_de") as de:  # another territory's customs: nothing of it at all
        assert ok(de.get("/v1/customs/transactions")) == []
        hidden(de.get("/v1/events").text)
    with gateway.client("customs_ch") as ch:  # the rejecting customs read the reason, the office, the officer
        [tx] = ok(ch.get("/v1/customs/transactions"))
        assert [(r["reason"], r["office"], r["code"]) for r in tx["rejections"]] == [
            (REASON, "CH001801", 510)
        ]
    # the stored document keeps everything
    stored = gateway.service.db.carnet(CID).doc
    assert next(t for t in stored.transactions if t.transaction_id == imp).rejection.reason == REASON  # type: ignore[union-attr]


def test_the_issuing_association_closing_a_carnet_learns_no_reason_either(gateway: Gateway) -> None:
    rejected_in_ch(gateway)
    with gateway.client("issuer") as issuer:
        r = issuer.post(f"/v1/carnets/{CID}/close")  # refused (goods abroad) or done: never a reason
        hidden(r.text)
        amended = issuer.post(f"/v1/carnets/{CID}/amendments", json={})
        hidden(amended.text)


def test_a_webhook_subscriber_is_told_of_the_refusal_without_its_reason(gateway: Gateway) -> None:
    got: list[bytes] = []
    sink = FastAPI()

    @sink.post("/hook")
    async def hook(request: Request) -> Reply:
        got.append(await request.body())
        return Reply(status_code=204)

    gateway.service.destinations = DestinationPolicy("127.0.0.1/32")  # the receiver is local here
    with serving(sink) as receiver:
        with gateway.client("holder") as holder:
            url = receiver.url + "/hook"
            ok(holder.post("/v1/webhooks", json={"url": url, "events": ["rejected"]}), 201)
        rejected_in_ch(gateway)
        dispatcher = WebhookDispatcher(gateway.service)
        try:
            assert dispatcher.round() == 1
        finally:
            dispatcher.stop()
    [body] = got
    hidden(body.decode())
    assert NOTICE.format(territory="CH") in body.decode()
