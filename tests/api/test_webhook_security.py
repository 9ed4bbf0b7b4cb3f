"""Webhooks attacked as issue 13 found them: URLs aimed at the gateway's own machine, its network or the
cloud metadata service; a name that resolves elsewhere once checked (DNS rebinding); redirects; one broken
subscription stopping everyone's; unlimited subscriptions; deliveries a receiver cannot tell from replays.

Real gateway and real receivers over HTTP on loopback. Loopback receivers are reachable only because a
test allows 127.0.0.1/32 in EATA_WEBHOOK_ALLOW, as an operator would for a local ERP.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.api.app import create_app
from gateway.api.destinations import DestinationPolicy
from gateway.api.service import Service
from gateway.api.webhooks import WebhookDispatcher
from gateway.model import load_document
from gateway.serving import serving
from gateway.store import Database
from tests.conftest import EXAMPLES

DOC = load_document((EXAMPLES / "journey-no-eu-ch.json").read_bytes())
CID = DOC.carnet.carnet_id


@dataclass
class Sink:
    """Local receivers: /hook records, /fail-once fails the first time, /redirect sends to /trap."""

    url: str = ""
    got: dict[str, list[tuple[dict[str, str], bytes]]] = field(default_factory=dict)
    failed_once: bool = False

    def at(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return self.got.get(path, [])


@dataclass
class World:
    url: str
    db: Database
    service: Service
    keys: dict[str, str]
    sink: Sink

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[who]}, timeout=30)

    def subscribe(self, who: str, url: str, events: tuple[str, ...] = ("committed",)) -> httpx.Response:
        with self.client(who) as c:
            return c.post("/v1/webhooks", json={"url": url, "events": list(events)})

    def hook(self, hook_id: str) -> dict:
        return next(h for h in self.db.webhooks() if h["id"] == hook_id)

    def committed(self) -> None:
        self.db.add_event(CID, "committed", {"reference": "26CH1"}, transaction_id="tx-005", territory="CH")


def _sink_app(sink: Sink) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def any_path(path: str, request: Request) -> Response:
        if path == "fail-once" and not sink.failed_once:
            sink.failed_once = True
            sink.got.setdefault("fail-once/failed", []).append((dict(request.headers), await request.body()))
            return Response(status_code=503)
        sink.got.setdefault(path, []).append((dict(request.headers), await request.body()))
        if path == "redirect":
            return Response(status_code=307, headers={"Location": sink.url + "/trap"})
        return Response(status_code=204)

    return app


@pytest.fixture
def make(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., World]]:
    stack: list = []

    def build(allow: str | None = None) -> World:
        if allow is None:
            monkeypatch.delenv("EATA_WEBHOOK_ALLOW", raising=False)
        else:
            monkeypatch.setenv("EATA_WEBHOOK_ALLOW", allow)
        db = Database(db_url)  # a SQLite file, then a fresh PostgreSQL database
        service = Service(db, share_secret="test")
        keys = {}
        issuer, keys["issuer"] = db.add_party("issuer", "Oslo Chamber of Commerce")
        holder, keys["holder"] = db.add_party("holder", "Nordlys Film AS")
        _, keys["holder2"] = db.add_party("holder", "someone else")
        db.create_carnet(DOC, issuer.id, "482913")
        db.bind_holder(CID, holder.id)
        sink = Sink()
        sink_server = serving(_sink_app(sink))
        gateway_server = serving(create_app(service))
        sink.url = sink_server.__enter__().url
        url = gateway_server.__enter__().url
        stack.extend([sink_server, gateway_server])
        return World(url, db, service, keys, sink)

    yield build
    for server in reversed(stack):
        server.__exit__(None, None, None)


REFUSED = {
    "http://127.0.0.1:80abc/": "port",
    "http://127.0.0.1:0/": "port",
    "http://127.0.0.1:65536/": "port",
    "http:///no-host": "no host",
    "https://user:secret@hooks.example.org/": "password",
    "https://bad_host!.example.org/": "host name",
    "http://127.0.0.1/metrics": "loopback",
    "http://localhost:8080/": "loopback",
    "http://127.1/": "loopback",
    "http://2130706433/": "loopback",
    "http://0x7f000001/": "loopback",
    "http://[::1]/": "loopback",
    "http://[::ffff:127.0.0.1]/": "loopback",
    "http://0.0.0.0:9000/": "unspecified",
    "http://[::]/": "unspecified",
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://[fe80::1]/": "link-local",
    "http://10.0.0.5/": "private",
    "http://172.16.0.1/": "private",
    "http://192.168.1.1/": "private",
    "http://[fc00::1]/": "private",
    "http://224.0.0.1/": "multicast",
    "http://[ff02::1]/": "multicast",
    "https://hooks.example.invalid/": "cannot be found",
}


@pytest.mark.parametrize("url", sorted(REFUSED))
def test_webhook_urls_are_checked_when_subscribing(make: Callable[..., World], url: str) -> None:
    world = make()
    r = world.subscribe("holder", url)
    assert r.status_code == 422, r.text
    [problem] = r.json()["problems"]
    assert problem["code"] == 103 and problem["pointer"] == "/url"
    assert REFUSED[url] in problem["message"], problem["message"]
    assert world.db.webhooks() == []


def test_a_public_address_is_accepted_and_the_operator_can_allow_a_local_one(
    make: Callable[..., World],
) -> None:
    world = make("127.0.0.1/32")
    assert world.subscribe("holder", "https://93.184.216.34/eata/events").status_code == 201
    assert world.subscribe("holder", world.sink.url + "/hook").status_code == 201
    for still_refused in ("http://127.0.0.2/", "http://[::1]/", "http://169.254.169.254/"):
        r = world.subscribe("holder", still_refused)
        assert r.status_code == 422 and "EATA_WEBHOOK_ALLOW" in r.json()["problems"][0]["message"]


def test_a_malformed_stored_url_does_not_stop_other_subscriptions(make: Callable[..., World]) -> None:
    world = make("127.0.0.1/32")
    holder = world.db.party_by_key(world.keys["holder"])
    assert holder is not None
    # a row from before URLs were checked, served first (IDs in order)
    world.db.add_webhook("0" * 32, holder.id, "http://127.0.0.1:80abc/", ["committed"], "whsec_AAAA", 0)
    good = world.subscribe("holder", world.sink.url + "/hook").json()
    world.committed()
    dispatcher = WebhookDispatcher(world.service)
    try:
        assert dispatcher.round() == 1
    finally:
        dispatcher.stop()
    assert len(world.sink.at("hook")) == 1
    broken = world.hook("0" * 32)
    assert broken["disabled"] and "port" in broken["disabled"]  # disabled at once, with the reason
    assert world.hook(good["id"])["failures"] == 0


def test_a_stalled_receiver_does_not_delay_another_subscription(make: Callable[..., World]) -> None:
    world = make("127.0.0.1/32")
    stall = socket.socket()
    stall.bind(("127.0.0.1", 0))
    stall.listen(8)
    held: list[socket.socket] = []
    release = threading.Event()

    def hold() -> None:  # accepts the connection, reads the request, never answers
        while not release.is_set():
            try:
                conn, _ = stall.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=hold, daemon=True).start()
    holder = world.db.party_by_key(world.keys["holder"])
    assert holder is not None
    stall_url = f"http://127.0.0.1:{stall.getsockname()[1]}/hook"
    world.db.add_webhook("0" * 32, holder.id, stall_url, ["committed"], "whsec_AAAA", 0)  # served first
    world.db.add_webhook("f" * 32, holder.id, world.sink.url + "/hook", ["committed"], "whsec_AAAA", 0)
    world.committed()
    dispatcher = WebhookDispatcher(world.service, interval=0.05, timeout=60).start()
    try:
        deadline = time.monotonic() + 120
        while not world.sink.at("hook") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert world.sink.at("hook"), "the good subscription never got its event"
        # delivered while the stalled one is still waiting for its receiver, not after it gave up
        assert held and world.hook("0" * 32)["failures"] == 0
    finally:
        release.set()
        stall.close()
        for conn in held:
            conn.close()
        dispatcher.stop()


def test_redirects_are_not_followed(make: Callable[..., World]) -> None:
    world = make("127.0.0.1/32")
    hook = world.subscribe("holder", world.sink.url + "/redirect").json()
    world.committed()
    dispatcher = WebhookDispatcher(world.service)
    try:
        assert dispatcher.round() == 0
    finally:
        dispatcher.stop()
    assert len(world.sink.at("redirect")) == 1 and world.sink.at("trap") == []
    state = world.hook(hook["id"])
    assert state["failures"] == 1 and state["disabled"] is None
    with world.client("holder") as c:
        [listed] = c.get("/v1/webhooks").json()
    assert listed["failures"] == 1


def test_a_name_that_rebinds_to_loopback_after_the_check_reaches_nothing(make: Callable[..., World]) -> None:
    world = make()  # nothing local allowed
    answers = iter(["93.184.216.34"])  # a rebinding DNS server: public when asked first, loopback after

    def rebinding(_host: str, _port: int) -> list[str]:
        return [next(answers, "127.0.0.1")]

    world.service.destinations = DestinationPolicy(None, resolver=rebinding)
    port = world.sink.url.rsplit(":", 1)[1]
    hook = world.subscribe("holder", f"http://hooks.rebind.test:{port}/hook")
    assert hook.status_code == 201, hook.text  # it looked public when checked
    world.committed()
    dispatcher = WebhookDispatcher(world.service)
    try:
        assert dispatcher.round() == 0
    finally:
        dispatcher.stop()
    assert world.sink.at("hook") == []  # checked again at delivery: nothing sent to 127.0.0.1
    state = world.hook(hook.json()["id"])
    assert state["failures"] == 1


def test_the_checked_address_is_the_one_connected_to(make: Callable[..., World]) -> None:
    world = make("127.0.0.1/32")  # allowed by address, not by name: the name is resolved and checked
    port = world.sink.url.rsplit(":", 1)[1]
    assert world.subscribe("holder", f"http://localhost:{port}/hook").status_code == 201
    world.committed()
    dispatcher = WebhookDispatcher(world.service)
    try:
        assert dispatcher.round() == 1
    finally:
        dispatcher.stop()
    [(headers, _)] = world.sink.at("hook")
    assert headers["host"] == f"localhost:{port}"  # sent to 127.0.0.1, asking for the URL's host


def test_standard_webhooks_headers_let_a_receiver_refuse_replays(make: Callable[..., World]) -> None:
    world = make("127.0.0.1/32")
    hook = world.subscribe("holder", world.sink.url + "/fail-once").json()
    world.committed()
    dispatcher = WebhookDispatcher(world.service)
    try:
        assert dispatcher.round(now=1000.0) == 0  # the receiver fails the first attempt
        assert dispatcher.round(now=1003.0) == 1
    finally:
        dispatcher.stop()
    [(first, _)] = world.sink.at("fail-once/failed")
    [(headers, body)] = world.sink.at("fail-once")
    assert headers["webhook-id"] == first["webhook-id"]  # a retry is the same message
    receiver = Webhook(hook["secret"])
    assert json.loads(body) == receiver.verify(body, headers)
    replayed = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    with pytest.raises(WebhookVerificationError):  # a captured delivery sent again an hour later
        receiver.verify(body, replayed)
    forged = {**headers, "webhook-signature": "v1," + "A" * 44}
    with pytest.raises(WebhookVerificationError):
        receiver.verify(body, forged)


def test_subscriptions_are_capped_per_party_and_listed_in_pages(make: Callable[..., World]) -> None:
    world = make("127.0.0.1/32")
    made = [world.subscribe("holder", f"{world.sink.url}/hook?n={i}").json()["id"] for i in range(20)]
    over = world.subscribe("holder", world.sink.url + "/hook?n=20")
    assert over.status_code == 409, over.text
    [problem] = over.json()["problems"]
    assert problem["code"] == 212 and problem["pointer"] == "/url" and "20" in problem["message"]
    assert world.subscribe("holder2", world.sink.url + "/hook").status_code == 201  # a cap per party
    seen: list[str] = []
    with world.client("holder") as c:
        page = c.get("/v1/webhooks", params={"limit": 7})
        while True:
            assert page.status_code == 200
            seen += [h["id"] for h in page.json()]
            link = page.headers.get("link")
            if link is None:
                break
            page = c.get(link.split(";")[0].strip("<>"))
        assert seen == sorted(made)
        for bad in (0, 101):
            r = c.get("/v1/webhooks", params={"limit": bad})
            assert r.status_code == 422 and r.json()["problems"][0]["pointer"] == "/limit"
