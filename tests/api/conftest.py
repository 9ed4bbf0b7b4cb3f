"""A real gateway over real HTTP on loopback, with its own database (SQLite, then PostgreSQL), and parties of
every role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest

from gateway.api.app import create_app
from gateway.api.service import Service
from gateway.serving import serving
from gateway.store import Database
from tests.conftest import EXAMPLES


@dataclass
class Gateway:
    url: str
    service: Service
    keys: dict[str, str]

    def client(self, who: str) -> httpx.Client:
        headers = {"X-API-Key": self.keys[who]} if who in self.keys else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


TRAVEL = {
    "travel_id": "t1",
    "nickname": "Swiss shoot",
    "destination": "CH",
    "transits": ["SE", "DE"],
    "transport_mode": "3",
    "declared_items": "1-4",
}


def draft_carnet(carnet_id: str = "NO/2026/000123") -> dict:
    doc = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    carnet = doc["carnet"]
    today = date.today()  # the holder signs "now": the carnet must be current whatever day tests run
    carnet.update(
        carnet_id=carnet_id,
        status="draft",
        issue_date=today.isoformat(),
        valid_until=(today + timedelta(days=364)).isoformat(),
    )
    carnet.pop("signature", None)
    return carnet


@pytest.fixture
def gateway(db_url: str) -> Iterator[Gateway]:
    db = Database(db_url)  # each test twice: on a SQLite file and on a fresh PostgreSQL database
    service = Service(db, share_secret="test-secret")
    keys = {}
    for who, role, territory in [
        ("issuer", "issuer", None),
        ("issuer2", "issuer", None),
        ("holder", "holder", None),
        ("holder2", "holder", None),
        ("rep", "representative", None),
        ("customs_ch", "customs", "CH"),
        ("customs_de", "customs", "DE"),
        ("chain", "chain", None),
        ("operator", "operator", None),
    ]:
        _, keys[who] = db.add_party(role, who, territory)
    with serving(create_app(service)) as server:
        yield Gateway(server.url, service, keys)


def day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()
