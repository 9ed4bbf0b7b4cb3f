"""The 30 eATA territories and the customs territories they form (the EU is one; DOMAIN.md)."""

from __future__ import annotations

EU_MEMBERS: frozenset[str] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
NON_EU_EATA: frozenset[str] = frozenset({"CH", "GB", "NO"})
EATA_COUNTRIES: frozenset[str] = EU_MEMBERS | NON_EU_EATA
EU = "EU"


def customs_territory(country: str) -> str:
    """The customs territory a country belongs to: ``EU`` for the 27 member states, else the country."""
    return EU if country in EU_MEMBERS else country


def same_customs_territory(a: str, b: str) -> bool:
    return customs_territory(a) == customs_territory(b)


def covered(country: str, countries_of_use: list[str] | tuple[str, ...]) -> bool:
    """Whether a carnet listing ``countries_of_use`` (box P) may be used in ``country``.

    ``EU`` in box P covers every member state, as carnets list the Union as one territory.
    """
    return country in countries_of_use or (country in EU_MEMBERS and EU in countries_of_use)
