"""GET /v1/customs/transactions in pages: ``limit`` (1–500, default 50), an opaque cursor in the ``Link``
header (``rel="next"``) passed back as ``after``, a stable order; a changed cursor or a bad limit is refused
with its code and pointer."""

from __future__ import annotations

import base64

from tests.api.conftest import Gateway
from tests.api.test_customs_rejections import customs, journey, ok


def next_after(link: str) -> str:
    query = link.split("?", 1)[1].split(">", 1)[0]
    return dict(p.split("=", 1) for p in query.split("&"))["after"]


def test_customs_page_through_their_vouchers_and_a_tampered_cursor_is_refused(gateway: Gateway) -> None:
    tids = journey(gateway)
    with gateway.client(customs(gateway, "NO")) as no:
        whole = ok(no.get("/v1/customs/transactions"))
        assert [t["transaction_id"] for t in whole] == [tids["activation"], tids["exportation"]]
        first = no.get("/v1/customs/transactions", params={"limit": 1})
        assert [t["transaction_id"] for t in ok(first)] == [tids["activation"]]
        cursor = next_after(first.headers["link"])
        second = no.get("/v1/customs/transactions", params={"limit": 1, "after": cursor})
        assert ok(second) == whole[1:] and "link" not in second.headers  # the last page
        assert ok(no.get("/v1/customs/transactions", params={"limit": 1, "after": cursor})) == whole[1:]
        forged = base64.urlsafe_b64encode(b"NO:0:0000000000000000").decode()
        for bad in (forged, "not-a-cursor", cursor[:-2]):
            r = no.get("/v1/customs/transactions", params={"after": bad})
            assert r.status_code == 422 and r.json()["problems"][0]["code"] == 103, r.text
            assert r.json()["problems"][0]["pointer"] == "/after"
        for limit in (0, 501):
            r = no.get("/v1/customs/transactions", params={"limit": limit})
            assert r.status_code == 422 and r.json()["problems"][0]["pointer"] == "/limit"
    with gateway.client("customs_ch") as ch:  # another territory's cursor means nothing here
        r = ch.get("/v1/customs/transactions", params={"after": cursor})
        assert r.status_code == 422 and r.json()["problems"][0]["code"] == 103
