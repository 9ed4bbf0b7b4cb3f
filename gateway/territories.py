"""The customs territories eATA territories form: the EU is one (its members from a code list), every other
territory is its own. Which territories exist is the set of adapter files (``gateway.adapters.registry``)."""

from __future__ import annotations

from functools import cache

from gateway.resources import data_dir
from gateway.yamlio import load_yaml

EU = "EU"


@cache
def _unions() -> dict[str, frozenset[str]]:
    raw = load_yaml(data_dir("mappings") / "codelists" / "customs-unions.yaml")
    return {name: frozenset(members) for name, members in raw.items()}


EU_MEMBERS: frozenset[str] = _unions()[EU]


def eata_countries() -> frozenset[str]:
    """Every territory with an adapter file."""
    from gateway.adapters import registry  # the adapters are data; loaded once, on first use

    return frozenset(registry.codes())


def __getattr__(name: str) -> frozenset[str]:
    # EATA_COUNTRIES and NON_EU_EATA follow the adapter files, so they are computed on first use
    if name == "EATA_COUNTRIES":
        return eata_countries()
    if name == "NON_EU_EATA":
        return eata_countries() - EU_MEMBERS
    raise AttributeError(name)


def customs_territory(country: str) -> str:
    """The customs territory a country belongs to: ``EU`` for the member states, else the country."""
    return EU if country in EU_MEMBERS else country


def covered(country: str, countries_of_use: list[str] | tuple[str, ...]) -> bool:
    """Whether a carnet listing ``countries_of_use`` (box P) may be used in ``country``.

    ``EU`` in box P covers every member state, as carnets list the Union as one territory.
    """
    return country in countries_of_use or (country in EU_MEMBERS and EU in countries_of_use)
