"""The operator console and the API docs in a real browser (Debian's chromium, driven by selenium), with
a real gateway, RabbitMQ, a relay worker and the national simulators — and every request to a host other
than the gateway refused by the browser itself (host resolver rules), checked in its performance log."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conformance.simulators.testing import loopback_world
from devtools.rabbit import RabbitNode
from gateway.adapters.delivery import relay_deliver
from gateway.relay.outcome import Final
from gateway.relay.worker import Worker
from gateway.runtime import Runtime
from gateway.serving import ThreadedServer, free_port
from tests.api.conftest import TRAVEL, day, draft_carnet

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is part of the test extras")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.broker
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
CID = "NO/2026/000777"
PIN = "482913"


def need_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    reason = "Debian's chromium and chromium-driver are not installed (scripts/setup.sh installs them)"
    if os.environ.get("CI"):
        pytest.fail(reason + " and CI is set: browser tests must run")
    pytest.skip(reason)


@dataclass
class Live:
    url: str
    runtime: Runtime
    keys: dict[str, str]
    shots: Path

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[who]}, timeout=30)


def expiring_certificate(path: Path, days: int) -> None:
    """A pinned partner certificate that expires in ``days`` days (what the console must warn about)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HMRC CDS signer (TEST)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=300))
        .not_valid_after(now + dt.timedelta(days=days, hours=12))
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def live(rabbit: RabbitNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    from gateway.api.settings import Settings

    need_browser()
    with loopback_world(tmp_path) as world:
        expiring_certificate(world.keys_dir / "trust" / "GB" / "pinned" / "hmrc-cds.pem", days=5)
        port = free_port()
        monkeypatch.setenv("EATA_AMQP_URL", rabbit.url)
        monkeypatch.setenv("EATA_DATABASE_URL", f"sqlite:///{tmp_path / 'gateway.db'}")
        monkeypatch.setenv("EATA_CALLBACK_URL", f"http://127.0.0.1:{port}/customs/callback")
        runtime = Runtime(Settings()).start()
        server = ThreadedServer(runtime.app, port=port).start()

        def deliver(envelope: Any) -> Any:
            # the first exportation is refused for good (a dead letter); a replay goes through
            if envelope.kind == "exportation" and envelope.generation == 0:
                return Final(512, "refused by the test: office closed for the night")
            return relay_deliver(envelope)

        # the worker shares the gateway's store (one machine): the console shows its delivery records
        worker = Worker(rabbit.url, "NO", deliver, runtime.store, concurrency=2)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        keys = {}
        for who, role in [("issuer", "issuer"), ("holder", "holder"), ("operator", "operator")]:
            _, keys[who] = runtime.db.add_party(role, f"Test {who}", None)
        shots = tmp_path / "screenshots"
        shots.mkdir()
        try:
            yield Live(server.url, runtime, keys, shots)
        finally:
            worker.stop()
            thread.join(timeout=20)
            server.stop()
            runtime.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    need_browser()
    from selenium.webdriver.chrome.service import Service as ChromeService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1360,900",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # nothing but the gateway
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=ChromeService(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def wait_for(client: httpx.Client, transaction_id: str, kinds: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in ok(client.get(f"/v1/carnets/{CID}/transactions/{transaction_id}/timeline")):
            if e["kind"] in kinds:
                return e
        time.sleep(0.2)
    raise AssertionError(f"no {kinds} event for {transaction_id} within {timeout} s")


def declare(holder: httpx.Client, kind: str, office: str, items: str) -> dict:
    body = {"kind": kind, "territory": office[:2], "office": office, "date": day(0), "items": items}
    tx = ok(holder.post(f"/v1/carnets/{CID}/transactions", json={**body, "travel_id": "t1"}), 201)
    ok(holder.post(f"/v1/carnets/{CID}/transactions/{tx['transaction_id']}/submit"), 202)
    return tx


def journey(live: Live) -> tuple[dict, str, dict]:
    """Activation in Norway, committed with an MRN; the exportation that follows dead-lettered."""
    with live.client("issuer") as issuer, live.client("holder") as holder:
        ok(issuer.post("/v1/carnets", json={"carnet": draft_carnet(CID), "pin": PIN}), 201)
        ok(issuer.post(f"/v1/carnets/{CID}/issue"))
        ok(holder.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}))
        ok(holder.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"}))
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
        activation = declare(holder, "activation", "NO01011A", "all")
        committed = wait_for(holder, activation["transaction_id"], {"committed", "rejected", "held"})
        assert committed["kind"] == "committed", committed
        export = declare(holder, "exportation", "NO02011B", "1-2")
    deadline = time.monotonic() + 30
    from gateway.relay import dlq

    while not dlq.depth(live.runtime.settings.amqp_url, "NO") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert dlq.depth(live.runtime.settings.amqp_url, "NO") == 1
    return activation, committed["detail"]["reference"], export


def shot(driver: Any, live: Live, name: str) -> Path:
    path = live.shots / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def test_operator_finds_a_message_replays_a_dead_letter_and_reads_the_docs(live: Live, browser: Any) -> None:
    _, mrn, export = journey(live)
    wait = WebDriverWait(browser, 20)
    base = live.url

    # log in with the operator's key: a session cookie the page's scripts cannot read
    browser.get(f"{base}/console/")
    wait.until(EC.presence_of_element_located((By.ID, "api_key"))).send_keys(live.keys["operator"])
    browser.find_element(By.ID, "login").click()
    wait.until(EC.presence_of_element_located((By.ID, "messages")))
    cookie = browser.get_cookie("eata_console")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""

    # find the activation by the MRN Norway gave it, open it: committed, answer signed and verified
    box = browser.find_element(By.ID, "q")
    box.send_keys(mrn)
    before = browser.find_element(By.ID, "messages")
    browser.find_element(By.ID, "search").click()
    wait.until(EC.staleness_of(before))  # the search's own page, not the list it replaces
    rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages tbody tr a"))
    assert len(rows) == 1
    shot(browser, live, "console-messages")
    rows[0].click()
    outcome = wait.until(EC.presence_of_element_located((By.ID, "outcome")))
    assert "committed" in outcome.text and mrn in outcome.text
    signature = browser.find_element(By.ID, "signature").text
    assert "verified: yes" in signature and "sim-no" in signature.lower(), signature
    assert "only the auditor role reads them" in browser.page_source  # operators: metadata only
    assert not browser.find_elements(By.ID, "sent")
    shot(browser, live, "console-message")

    # the dead letter of the exportation: replay it, and see it delivered and committed
    browser.get(f"{base}/console/dead-letters?territory=NO")
    letters = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#letters tbody tr"))
    assert len(letters) == 1 and "office closed" in letters[0].text
    shot(browser, live, "console-dead-letters")
    letters[0].find_element(By.CSS_SELECTOR, "button.replay").click()
    assert "replayed 1" in wait.until(EC.presence_of_element_located((By.ID, "notice"))).text
    deadline = time.monotonic() + 60
    while True:
        browser.get(f"{base}/console/messages?q={export['transaction_code']}")
        status = browser.find_element(By.CSS_SELECTOR, "#messages tbody tr .status").text
        if status == "committed" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == "committed"

    # a certificate about to expire is flagged (and exported as a metric)
    browser.get(f"{base}/console/certificates")
    warning = wait.until(EC.presence_of_element_located((By.ID, "cert-warning")))
    assert "expire within 30 days" in warning.text
    urgent = browser.find_element(By.CSS_SELECTOR, "#certificates tr.urgent").text
    assert "HMRC CDS signer" in urgent and "5 · urgent" in urgent and "GB" in urgent
    shot(browser, live, "console-certificates")
    metrics = httpx.get(f"{base}/metrics", timeout=30).text
    assert (
        'eata_certificate_expiry_days{role="pinned",subject="CN=HMRC CDS signer (TEST)",territory="GB"} 5.0'
        in metrics
    )

    browser.get(f"{base}/console/territories")
    assert "NO" in wait.until(EC.presence_of_element_located((By.ID, "territories"))).text
    shot(browser, live, "console-territories")

    # the API documentation from the gateway itself: operations listed
    browser.get(f"{base}/docs")
    operations = WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    assert len(operations) > 20
    shot(browser, live, "docs")

    # not one request left for another host
    urls = requested_urls(browser)
    assert urls
    strangers = [
        u
        for u in urls
        if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).hostname != "127.0.0.1"
    ]
    assert strangers == [], strangers
    if os.environ.get("EATA_SCREENSHOTS_TO_DOCS"):  # refresh the README's pictures
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for name in ("console-message", "console-dead-letters"):
            shutil.copy(live.shots / f"{name}.png", DOCS_IMG / f"{name}.png")
