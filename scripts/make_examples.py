"""Regenerate examples/: two valid journeys, a carnet, and invalid files that each break one rule.

Run: python scripts/make_examples.py   (the files are checked in; tests assert each one's verdict)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "examples"

HOLDER = {
    "name": "Nordlys Film AS",
    "address": {"street": "Kirkegata 15", "city": "Oslo", "postcode": "0153", "country": "NO"},
    "identifiers": [{"scheme": "ORG", "value": "987654321"}],
}
GENERAL_LIST = [
    {
        "item_number": 1,
        "description": "Digital cinema camera ARRI Alexa Mini LF",
        "marks_and_numbers": "S/N 2931-774",
        "pieces": 1,
        "weight_or_volume": {"value": "2.600", "unit": "kg"},
        "value": "650000.00",
        "origin": "DE",
    },
    {
        "item_number": 2,
        "description": "Set of cine prime lenses in flight case",
        "marks_and_numbers": "Case CP-01",
        "pieces": 6,
        "weight_or_volume": {"value": "14.500", "unit": "kg"},
        "value": "240000.00",
        "origin": "JP",
    },
    {
        "item_number": 3,
        "description": "Carbon tripod with fluid head",
        "pieces": 1,
        "weight_or_volume": {"value": "7.200", "unit": "kg"},
        "value": "38000.00",
        "origin": "IT",
    },
    {
        "item_number": 4,
        "description": "LED lighting kit, 4 panels with stands",
        "marks_and_numbers": "Kit L-4",
        "pieces": 8,
        "weight_or_volume": {"value": "22.000", "unit": "kg"},
        "value": "56000.00",
        "origin": "CN",
    },
]


def carnet(**over: Any) -> dict[str, Any]:
    c = {
        "carnet_id": "NO/2026/000123",
        "status": "activated",
        "issuing_association": {"name": "Oslo Chamber of Commerce", "country": "NO", "code": "NO-OCC"},
        "guarantee_chain": "WCF/ICC ATA chain",
        "guaranteeing_associations": [
            {"name": "Oslo Chamber of Commerce", "country": "NO", "code": "NO-OCC"},
            {"name": "Deutscher Industrie- und Handelskammertag", "country": "DE", "code": "DE-DIHK"},
            {"name": "Swiss Chambers' Federation", "country": "CH", "code": "CH-SCF"},
            {"name": "London Chamber of Commerce and Industry", "country": "GB", "code": "GB-LCCI"},
        ],
        "holder": HOLDER,
        "representatives": [
            {
                "name": "Ingrid Berg",
                "address": {"street": "Kirkegata 15", "city": "Oslo", "postcode": "0153", "country": "NO"},
                "basis": "box_b",
            }
        ],
        "intended_use": "Professional equipment for filming a documentary",
        "annex": "B2",
        "issue_date": "2026-09-01",
        "valid_until": "2027-08-31",
        "countries_of_use": ["EU", "CH", "GB"],
        "currency": "NOK",
        "general_list": GENERAL_LIST,
        "totals": {"pieces": 16, "value": "984000.00"},
        "continuation_sheets": 0,
        "signature": {"signer": "Ingrid Berg", "signed_at": "2026-09-02T09:30:00Z"},
    }
    c.update(over)
    return c


def endorse(office: str, place: str, at: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {"office": office, "place": place, "at": at, "reference": ref, "officer": "Officer 4711", **extra}


def tx(n: int, kind: str, office: str, day: str, items: str, place: str, **extra: Any) -> dict[str, Any]:
    endorsement = extra.pop("endorsement", {})
    return {
        "transaction_id": f"tx-{n:03d}",
        "kind": kind,
        "territory": office[:2],
        "office": office,
        "date": day,
        "items": items,
        "travel_id": extra.pop("travel_id", "travel-ch"),
        "transaction_code": f"TC{n:06d}",
        "cancellation_code": f"CX{n:06d}",
        "state": "committed",
        "declared_by": "Ingrid Berg",
        **extra,
        "endorsement": endorse(office, place, f"{day}T10:{n:02d}:00Z", f"{office}-{n:04d}", **endorsement),
    }


def journey_ch() -> dict[str, Any]:
    """Norway -> EU (transit) -> Switzerland -> Norway, the docs/domain.md example."""
    return {
        "schema": "eata/v1",
        "carnet": carnet(),
        "travels": [
            {
                "travel_id": "travel-ch",
                "nickname": "Swiss documentary shoot",
                "destination": "CH",
                "transits": ["SE", "DK", "DE"],
                "transport_mode": "3",
                "declared_items": "all",
                "status": "completed",
                "version": 3,
            }
        ],
        "transactions": [
            tx(1, "activation", "NO01011A", "2026-10-05", "all", "Oslo"),
            tx(2, "exportation", "NO02011B", "2026-10-05", "1-4", "Svinesund"),
            tx(
                3,
                "transit_start",
                "SE603340",
                "2026-10-05",
                "1-4",
                "Svinesund",
                transit={
                    "office_of_destination": "DE004055",
                    "final_date": "2026-10-12",
                    "seals": ["NO-77120"],
                },
                endorsement={"seals": ["NO-77120"], "reference": "26SE7F3A9C21B04DJ5"},  # NCTS MRN
            ),
            tx(
                4,
                "transit_discharge",
                "DE004055",
                "2026-10-07",
                "1-4",
                "Weil am Rhein",
                endorsement={"seals_intact": True},
            ),
            tx(
                5,
                "importation",
                "CH001801",
                "2026-10-07",
                "1-4",
                "Basel Weil-Autobahn",
                intended_place_of_use="Lauterbrunnen valley, Bern",
                endorsement={"final_date": "2027-08-31"},
            ),
            tx(6, "re_exportation", "CH002771", "2026-10-20", "1-4", "Zurich Airport"),
            tx(
                7,
                "re_importation",
                "NO01018C",
                "2026-10-20",
                "1-4",
                "Oslo Gardermoen",
                not_processed_abroad=True,
            ),
        ],
    }


def journey_gb() -> dict[str, Any]:
    """Norway -> United Kingdom -> Norway, re-exported in two consignments through two offices (Art. 10, 11)."""
    t = "travel-gb"
    return {
        "schema": "eata/v1",
        "carnet": carnet(carnet_id="NO/2026/000124"),
        "travels": [
            {
                "travel_id": t,
                "nickname": "London trade show",
                "destination": "GB",
                "transport_mode": "4",
                "declared_items": "1-4",
                "status": "completed",
                "version": 1,
            }
        ],
        "transactions": [
            tx(1, "activation", "NO01018C", "2026-11-02", "all", "Oslo Gardermoen", travel_id=t),
            tx(2, "exportation", "NO01018C", "2026-11-02", "1-4", "Oslo Gardermoen", travel_id=t),
            tx(
                3,
                "importation",
                "GB000084",
                "2026-11-02",
                "1-4",
                "London Heathrow",
                travel_id=t,
                intended_place_of_use="ExCeL London",
                endorsement={"final_date": "2027-08-31"},
            ),
            tx(
                4,
                "re_exportation",
                "GB000060",
                "2026-11-09",
                "1-2",
                "Dover/Folkestone Eurotunnel",
                travel_id=t,
            ),
            tx(5, "re_exportation", "GB000084", "2026-11-10", "3-4", "London Heathrow", travel_id=t),
            tx(
                6,
                "re_importation",
                "NO01018C",
                "2026-11-10",
                "1-4",
                "Oslo Gardermoen",
                travel_id=t,
                not_processed_abroad=True,
            ),
        ],
    }


def broken(name: str, code: int, doc: dict[str, Any], change: Any) -> None:
    bad = copy.deepcopy(doc)
    change(bad)
    write(f"invalid-{code}-{name}.json", bad)


def write(name: str, data: dict[str, Any]) -> None:
    (OUT / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    ch, gb = journey_ch(), journey_gb()
    write("journey-no-eu-ch.json", ch)
    write("journey-gb.json", gb)
    write(
        "carnet-professional-equipment.json",
        {"schema": "eata/v1", "carnet": carnet(status="issued", carnet_id="NO/2026/000125")},
    )
    txs = lambda d: d["transactions"]  # noqa: E731

    broken("expired", 203, ch, lambda d: txs(d)[6].update(date="2027-09-02"))
    broken("item-not-on-list", 302, ch, lambda d: txs(d)[1].update(items="1-5"))
    broken(
        "deadline-past-validity",
        308,
        ch,
        lambda d: txs(d)[4]["endorsement"].update(final_date="2027-10-07"),
    )
    broken("not-activated", 201, ch, lambda d: d.update(transactions=txs(d)[1:]))
    broken("re-export-before-import", 204, ch, lambda d: d.update(transactions=[*txs(d)[:4], *txs(d)[5:]]))
    broken("validity-too-long", 307, ch, lambda d: d["carnet"].update(valid_until="2027-09-15"))
    broken("totals", 108, ch, lambda d: d["carnet"]["totals"].update(pieces=15))
    broken(
        "item-added",
        309,
        ch,
        lambda d: d["carnet"].update(
            amendments=[
                {
                    "amended_on": "2026-09-01",
                    "reason": "Holder asked for a drone",
                    "consent_by": "Oslo Chamber of Commerce",
                    "changes": [{"op": "add", "path": "/general_list/-", "value": "Drone DJI Inspire 3"}],
                }
            ]
        ),
    )
    broken("processed-abroad", 306, ch, lambda d: txs(d)[6].update(not_processed_abroad=False))
    broken("reversed-range", 106, ch, lambda d: txs(d)[1].update(items="4-1"))
    broken("deadline-passed", 205, gb, _late_b1_reexport)
    broken("transit-wrong-office", 310, ch, lambda d: _move_office(txs(d)[3], "DE006231"))
    broken(
        "signature-void",
        208,
        ch,
        lambda d: d["carnet"].update(
            amendments=[
                {
                    "amended_on": "2026-09-20",
                    "reason": "Holder address corrected",
                    "consent_by": "Oslo Chamber of Commerce",
                    "changes": [{"op": "replace", "path": "/holder/address/street", "value": "Kirkegata 17"}],
                }
            ]
        ),
    )
    broken("seals-broken", 311, ch, lambda d: txs(d)[3]["endorsement"].update(seals_intact=False))
    broken("territory-not-covered", 303, gb, lambda d: d["carnet"].update(countries_of_use=["EU", "CH"]))
    broken("unknown-field", 102, ch, lambda d: d["carnet"].update(colour="green"))
    broken("bad-office-reference", 104, ch, lambda d: _move_office(txs(d)[1], "NO-SVIN"))
    broken("unknown-office", 304, ch, lambda d: _move_office(txs(d)[5], "CH999999"))
    # issue 14: recorded with a flag, replacement, intended use as data
    write("journey-art-10-2.json", _art_10_2(ch))
    write("journey-late-transit.json", _late_transit(ch))
    write("journey-transit-imported-elsewhere.json", _transit_imported_elsewhere(ch))
    two_step = _eu_two_step_re_export()
    write("journey-eu-two-step-re-export.json", two_step)
    broken("two-step-exit-after-deadline", 205, two_step, _late_two_step_exit)
    write("carnet-replaced.json", _replaced(ch))
    film = copy.deepcopy(ch)
    film["carnet"]["use"] = {
        "category": "B2.cinematographic",
        "activities": ["professional_use"],
        "description": "Filming a documentary in the Bernese Oberland",
    }
    write("journey-intended-use.json", film)
    broken(
        "intended-use-processing",
        318,
        film,
        lambda d: d["carnet"]["use"].update(activities=["professional_use", "processing"]),
    )


def _art_10_2(ch: dict[str, Any]) -> dict[str, Any]:
    """Imported into Switzerland, then into the UK with no Swiss re-export voucher: recorded with a flag;
    the British importation is the Swiss customs' proof of re-exportation (Annex A Art. 10.2)."""
    d = copy.deepcopy(ch)
    d["transactions"] = [
        *d["transactions"][:5],
        tx(
            6,
            "importation",
            "GB000084",
            "2026-10-21",
            "1-4",
            "London Heathrow",
            endorsement={"final_date": "2027-08-31"},
        ),
        tx(7, "re_exportation", "GB000084", "2026-10-28", "1-4", "London Heathrow"),
        tx(
            8, "re_importation", "NO01018C", "2026-10-28", "1-4", "Oslo Gardermoen", not_processed_abroad=True
        ),
    ]
    return d


def _late_transit(ch: dict[str, Any]) -> dict[str, Any]:
    """The transit through the EU is discharged a day after its final date: recorded, flagged 206."""
    d = copy.deepcopy(ch)
    d["transactions"][2]["transit"]["final_date"] = "2026-10-06"
    return d


def _transit_imported_elsewhere(ch: dict[str, Any]) -> dict[str, Any]:
    """The transit through the EU is never discharged, yet the goods are imported into Switzerland: recorded
    with a flag (217); the Swiss importation proves the goods left the EU (Annex A Art. 10.2)."""
    d = copy.deepcopy(ch)
    d["transactions"] = [t for t in d["transactions"] if t["kind"] != "transit_discharge"]
    return d


def _eu_two_step_re_export() -> dict[str, Any]:
    """A Norwegian carnet's goods leave the EU in two steps (issue 14, item 8): imported at Kiel, declared for
    re-export inland at Frankfurt (still under admission there), then the exit at Kiel — where they leave
    and the re-export deadline is judged (Convention Art. 7; EU two-step: UCC Art. 270 and 267)."""
    t = "travel-de"
    return {
        "schema": "eata/v1",
        "carnet": carnet(carnet_id="NO/2026/000126"),
        "travels": [
            {
                "travel_id": t,
                "nickname": "Frankfurt shoot",
                "destination": "DE",
                "transport_mode": "1",
                "declared_items": "1-4",
                "status": "completed",
                "version": 1,
            }
        ],
        "transactions": [
            tx(1, "activation", "NO01011A", "2026-10-05", "all", "Oslo", travel_id=t),
            tx(2, "exportation", "NO01011A", "2026-10-05", "1-4", "Oslo", travel_id=t),
            tx(3, "importation", "DE006231", "2026-10-06", "1-4", "Kiel-Norwegenkai", travel_id=t,
               intended_place_of_use="Frankfurt am Main", endorsement={"final_date": "2027-08-31"}),
            tx(4, "pre_re_exportation", "DE003302", "2026-10-19", "1-4", "Frankfurt am Main", travel_id=t),
            tx(5, "re_exportation_exit", "DE006231", "2026-10-20", "1-4", "Kiel-Norwegenkai", travel_id=t),
            tx(6, "re_importation", "NO01011A", "2026-10-21", "1-4", "Oslo", travel_id=t, not_processed_abroad=True),
        ],
    }  # fmt: skip


def _late_two_step_exit(d: dict[str, Any]) -> None:
    """A B1 fair carnet: six months to re-export (Annex B1 Art. 4.1). Declared inland in time, but the goods
    reach the exit a day late: refused at the exit, where the deadline is judged."""
    d["carnet"].update(annex="B1", intended_use="Exhibition stand at a Frankfurt trade fair")
    txs = d["transactions"]
    txs[2]["endorsement"]["final_date"] = "2027-04-06"
    txs[3].update(date="2027-04-05")
    txs[4].update(date="2027-04-07")
    txs[5].update(date="2027-04-08")
    for t in txs[3:]:
        t["endorsement"]["at"] = f"{t['date']}T10:00:00Z"


def _replaced(ch: dict[str, Any]) -> dict[str, Any]:
    """Admitted in Switzerland, then replaced (Annex A Art. 14): the ledger shows the goods carried over."""
    d = copy.deepcopy(ch)
    d["carnet"].update(status="replaced", replaced_by="NO/2027/000900")
    d["transactions"] = d["transactions"][:5]
    return d


def _late_b1_reexport(d: dict[str, Any]) -> None:
    """A B1 exhibition carnet: customs gave 6 months (Annex B1 Art. 4.1); one consignment leaves late."""
    d["carnet"].update(annex="B1", intended_use="Exhibition stand at a London trade show")
    d["transactions"][2]["endorsement"]["final_date"] = "2027-05-02"
    for t in d["transactions"][3:]:
        t["date"] = "2027-05-10"


def _move_office(t: dict[str, Any], office: str) -> None:
    t["office"] = office
    t["endorsement"]["office"] = office


if __name__ == "__main__":
    main()
