"""Customs offices the gateway knows, from ``mappings/codelists/customs-offices.yaml`` (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from gateway.resources import data_dir
from gateway.yamlio import load_yaml


@dataclass(frozen=True, slots=True)
class Office:
    id: str
    name: str
    country: str
    roles: tuple[str, ...]
    verified: bool


@cache
def offices() -> dict[str, Office]:
    raw = load_yaml(data_dir("mappings") / "codelists" / "customs-offices.yaml")
    found: dict[str, Office] = {}
    for territory in raw["territories"].values():
        for o in territory["offices"]:
            if o.get("id"):
                found[o["id"]] = Office(
                    o["id"], o["name"], o["country"], tuple(o.get("roles", ())), bool(o.get("verified"))
                )
    return found


def known(office: str) -> bool:
    return office in offices()
