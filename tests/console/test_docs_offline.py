"""The API documentation is served by the gateway itself: nothing on /docs or /redoc names another host."""

from __future__ import annotations

import re

import httpx

from gateway.api.app import create_app
from gateway.api.service import Service
from gateway.serving import serving
from gateway.store import Database


def test_docs_and_redoc_load_only_local_assets(tmp_path) -> None:
    app = create_app(Service(Database(f"sqlite:///{tmp_path / 'g.db'}"), share_secret="s"))
    with serving(app) as server, httpx.Client(base_url=server.url) as c:
        for page in ("/docs", "/redoc"):
            r = c.get(page)
            assert r.status_code == 200
            urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", r.text)
            assert urls, page
            assert all(u.startswith("/") for u in urls), (page, urls)
            assert "default-src 'self'" in r.headers["content-security-policy"]
            for u in urls:
                assert c.get(u).status_code == 200, u
        assert "validatorUrl" in c.get("/docs").text  # no badge from the public validator
        assert c.get("/openapi.json").json()["paths"]
