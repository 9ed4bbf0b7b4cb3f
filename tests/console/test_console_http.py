"""The console's sessions over real HTTP: who may log in, what the cookie is, CSRF on every change, and
what each role sees (operators metadata, auditors contents, nobody else anything)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.api.app import create_app
from gateway.api.service import Service
from gateway.console.certs import inventory
from gateway.serving import serving
from gateway.store import Database
from tests.api.conftest import TRAVEL, day, draft_carnet

CID = "NO/2026/000321"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Service]]:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    service = Service(db, share_secret="s")
    keys = {who: db.add_party(who, f"Test {who}")[1] for who in ("operator", "auditor", "holder", "issuer")}
    with serving(create_app(service)) as server:
        yield server.url, keys, service


def login(url: str, key: str) -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(base_url=url, timeout=10, follow_redirects=True)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/console/login").text).group(1)  # type: ignore[union-attr]
    return c, c.post("/console/login", data={"csrf": token, "api_key": key})


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def submitted_message(url: str, keys: dict[str, str]) -> str:
    with (
        httpx.Client(base_url=url, headers={"X-API-Key": keys["issuer"]}) as issuer,
        httpx.Client(base_url=url, headers={"X-API-Key": keys["holder"]}) as holder,
    ):
        assert (
            issuer.post("/v1/carnets", json={"carnet": draft_carnet(CID), "pin": "482913"}).status_code == 201
        )
        issuer.post(f"/v1/carnets/{CID}/issue").raise_for_status()
        holder.post(f"/v1/carnets/{CID}/download", json={"pin": "482913"}).raise_for_status()
        holder.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"}).raise_for_status()
        holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL).raise_for_status()
        body = {"kind": "activation", "territory": "NO", "office": "NO01011A", "date": day(0), "items": "all"}
        tx = holder.post(f"/v1/carnets/{CID}/transactions", json={**body, "travel_id": "t1"}).json()
        holder.post(f"/v1/carnets/{CID}/transactions/{tx['transaction_id']}/submit").raise_for_status()
        return holder.get(f"/v1/carnets/{CID}/transactions/{tx['transaction_id']}/timeline").json()[-1][
            "detail"
        ]["message_id"]


def test_only_operators_and_auditors_log_in_with_a_strict_httponly_cookie(site) -> None:  # type: ignore[no-untyped-def]
    url, keys, _ = site
    assert httpx.get(f"{url}/console/messages").headers["location"] == "/console/login"
    for who in ("holder", "issuer"):
        _, r = login(url, keys[who])
        assert r.status_code == 403 and "eata_console=" not in r.headers.get("set-cookie", "")
    _, r = login(url, "not-a-key")
    assert r.status_code == 403
    c = httpx.Client(base_url=url)  # a login without the form's token is refused (login CSRF)
    assert c.post("/console/login", data={"api_key": keys["operator"]}).status_code == 400
    c, r = login(url, keys["operator"])
    cookie = next(h for h in r.history[0].headers.get_list("set-cookie") if h.startswith("eata_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Test operator" in r.text
    forged = httpx.Client(base_url=url, cookies={"eata_console": "e30.forged.sig"})
    assert forged.get("/console/messages").status_code == 303


def test_every_change_needs_the_sessions_csrf_token(site) -> None:  # type: ignore[no-untyped-def]
    url, keys, _ = site
    c, r = login(url, keys["operator"])
    for path, data in [
        ("/console/dead-letters/NO/replay", {}),
        ("/console/dead-letters/NO/purge", {"confirm": "NO"}),
        ("/console/conformance", {"territory": "NO"}),
        ("/console/logout", {}),
    ]:
        assert c.post(path, data=data).status_code == 403, path
        assert c.post(path, data={**data, "csrf": "wrong"}).status_code == 403, path
    token = csrf(r.text)
    # cross-site: a right token from a foreign origin is refused too
    assert (
        c.post(
            "/console/dead-letters/NO/replay", data={"csrf": token}, headers={"Origin": "http://evil.example"}
        ).status_code
        == 403
    )
    # a purge needs the territory typed out
    assert c.post("/console/dead-letters/NO/purge", data={"csrf": token, "confirm": "yes"}).status_code == 400
    assert c.post("/console/logout", data={"csrf": token}).status_code == 200  # back to the login page
    assert c.get("/console/messages").url.path == "/console/login"


def test_operators_see_metadata_auditors_the_documents(site) -> None:  # type: ignore[no-untyped-def]
    url, keys, _ = site
    message_id = submitted_message(url, keys)
    op, _ = login(url, keys["operator"])
    found = op.get("/console/messages", params={"carnet": CID}).text
    assert message_id in found and "submitted" in found
    page = op.get(f"/console/messages/{message_id}").text
    assert "only the auditor role reads them" in page and "&lt;" not in page and "Ingrid" not in page
    au, r = login(url, keys["auditor"])
    page = au.get(f"/console/messages/{message_id}").text
    assert 'id="sent"' in page and "NO01011A" in page  # the declaration's national XML, pretty-printed
    # auditors read, never act
    assert au.post("/console/dead-letters/NO/replay", data={"csrf": csrf(r.text)}).status_code == 403
    assert "Start a run" not in au.get("/console/conformance").text


def test_certificate_inventory_levels(tmp_path: Path) -> None:
    from tests.console.test_browser import expiring_certificate

    for days, name in ((3, "a"), (20, "b"), (90, "c")):
        expiring_certificate(tmp_path / "trust" / "SE" / "signers" / f"{name}.pem", days)
    levels = sorted((c.days_left, c.level, c.territory, c.role) for c in inventory(tmp_path))
    assert levels == [
        (3, "urgent", "SE", "signer"),
        (20, "warning", "SE", "signer"),
        (90, "ok", "SE", "signer"),
    ]


def test_an_operator_runs_the_conformance_suite_and_opens_its_report(site) -> None:  # type: ignore[no-untyped-def]
    import time

    url, keys, _ = site
    c, r = login(url, keys["operator"])
    started = c.post("/console/conformance", data={"csrf": csrf(r.text), "territory": "NO"})
    assert started.status_code == 200 and "/console/conformance/" in str(started.url)
    assert 'http-equiv="refresh"' in started.text  # the page follows the run while it plays
    deadline = time.monotonic() + 240
    while "finished" not in (page := c.get(started.url).text) and time.monotonic() < deadline:
        assert "failed</strong>" not in page, page
        time.sleep(1)
    assert "<strong>finished</strong>" in page and ", 0 failed" in page
    counted = re.search(r"(\d+) of (\d+) cases", page)  # followed from the run's own event lines
    assert counted and counted[1] == counted[2] != "0", page
    report = c.get(f"{started.url}/report/report.html")
    assert report.status_code == 200 and "NO" in report.text and "<html" in report.text.lower()
    assert c.get(f"{started.url}/report/%2E%2E/%2E%2E/etc/passwd").status_code == 404
    listed = c.get("/console/conformance").text
    assert "HTML report" in listed
