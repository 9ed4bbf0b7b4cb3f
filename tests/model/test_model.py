"""The eATA v1 model: strict, unknown fields refused, codes checked, schema checked in."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gateway.errors import Code, Refusal
from gateway.model import CarnetDocument, load_document
from gateway.schema import render, schema_path
from tests.conftest import EXAMPLES


def journey() -> dict:
    return json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())


def refused(doc: dict) -> Refusal:
    with pytest.raises(Refusal) as info:
        load_document(json.dumps(doc))
    return info.value


def test_example_journey_loads_with_exact_types() -> None:
    doc = load_document((EXAMPLES / "journey-no-eu-ch.json").read_bytes())
    assert isinstance(doc, CarnetDocument)
    assert doc.carnet.general_list[0].value == Decimal("650000.00")
    assert doc.carnet.totals.value == Decimal("984000.00")
    assert doc.transactions[2].transit is not None
    assert doc.transactions[2].transit.seals == ("NO-77120",)


def test_json_round_trip_is_identity() -> None:
    doc = load_document((EXAMPLES / "journey-gb.json").read_bytes())
    again = load_document(doc.model_dump_json(by_alias=True))
    assert again == doc


def test_unknown_field_is_refused_with_its_pointer() -> None:
    d = journey()
    d["transactions"][0]["colour"] = "green"
    r = refused(d)
    assert [(p.code, p.pointer) for p in r.problems] == [(Code.UNKNOWN_FIELD, "/transactions/0/colour")]


def test_missing_field_is_101_with_pointer() -> None:
    d = journey()
    del d["carnet"]["holder"]
    r = refused(d)
    assert (Code.MISSING, "/carnet/holder") in [(p.code, p.pointer) for p in r.problems]


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("carnet", "currency"), "XXY", Code.UNKNOWN_CODE),
        (("carnet", "holder", "address", "country"), "QQ", Code.UNKNOWN_CODE),
        (("carnet", "issue_date"), "2026-02-30", Code.BAD_VALUE),
        (("carnet", "general_list", 0, "pieces"), "1", Code.BAD_VALUE),  # strict: no string → int
        (("carnet", "general_list", 0, "pieces"), 0, Code.BAD_VALUE),
        (("transactions", 0, "office"), "NO-OSLO", Code.PATTERN),
        (("transactions", 0, "kind"), "smuggling", Code.BAD_VALUE),
        (("carnet", "general_list", 0, "value"), "12.345", Code.BAD_VALUE),
    ],
)
def test_bad_values_are_refused(path: tuple, value: object, code: int) -> None:
    d = journey()
    target = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    r = refused(d)
    expected = "/" + "/".join(str(p) for p in path)
    assert (code, expected) in [(p.code, p.pointer) for p in r.problems], r.problems


def test_office_must_be_in_the_transactions_territory() -> None:
    d = journey()
    d["transactions"][1]["territory"] = "SE"
    r = refused(d)
    assert r.problems[0].pointer == "/transactions/1"
    assert "not in territory SE" in r.problems[0].message


def test_committed_transaction_needs_its_endorsement() -> None:
    d = journey()
    del d["transactions"][1]["endorsement"]
    assert "needs its endorsement" in refused(d).problems[0].message


def test_duplicate_item_numbers_are_refused() -> None:
    d = journey()
    d["carnet"]["general_list"][1]["item_number"] = 1
    assert "appears twice" in refused(d).problems[0].message


def test_not_json_is_100() -> None:
    with pytest.raises(Refusal) as info:
        load_document(b"{not json")
    assert info.value.code == Code.UNREADABLE


def test_checked_in_json_schema_matches_the_model() -> None:
    assert schema_path().read_text() == render(), "run: python -m gateway.schema"


def test_examples_are_valid_under_the_published_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is only used to cross-check the schema")
    validator = jsonschema.Draft202012Validator(json.loads(schema_path().read_text()))
    for name in ("journey-no-eu-ch.json", "journey-gb.json", "carnet-professional-equipment.json"):
        errors = list(validator.iter_errors(json.loads((EXAMPLES / name).read_text())))
        assert not errors, (name, errors[:2])
    bad = json.loads((EXAMPLES / "invalid-102-unknown-field.json").read_text())
    assert list(validator.iter_errors(bad))
