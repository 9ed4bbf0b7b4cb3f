"""The compiled mapping engine writes the same bytes and reads the same dicts (or refuses with the same
problems) as the rule-by-rule interpreter it replaced (tests/translate/reference_engine.py), for every
mapping, territory, kind and dialect: generated declarations and responses, every example's
declarations, the samples the tests read, and damaged variants of each (fields dropped, elements
deleted, codes no list knows).
"""

from __future__ import annotations

import random
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.simulators.testing import journey_declaration
from gateway.errors import Refusal
from gateway.messages import declaration_for
from gateway.model import TransactionKind
from gateway.model.load import load_document
from gateway.translate import core, engine, mapping_for
from gateway.translate import official as envelope
from gateway.translate.mapping import Mapping, mapping, mappings_of
from tests.conftest import EXAMPLES, SHARED
from tests.translate import reference_engine as reference
from tests.translate.strategies import TERRITORIES, declarations, responses

DIALECTS = ("wco-dec", "ncts")
SAMPLES = sorted((Path(__file__).parent / "samples").rglob("*.xml")) + sorted(
    (SHARED / "standards" / "samples").rglob("*.xml")
)


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """What a call gives: its result, or the exception it raises (a refusal by its problems)."""
    try:
        result = fn(*args)
    except Refusal as exc:
        return "refused", exc.problems
    except Exception as exc:  # the interpreter's other failures (a bad value lxml refuses) must match too
        return type(exc).__name__, str(exc)
    if isinstance(result, etree._Element):
        return "xml", etree.tostring(result)
    return "dict", result


def same_out(m: Mapping, data: dict[str, Any], territory: str) -> etree._Element | None:
    params = {"territory": territory}  # as core.to_xml passes it
    new = outcome(engine.to_xml, m, data, territory, params)
    old = outcome(reference.to_xml, m, data, territory, params)
    assert new == old, (m.dialect, m.message, territory)
    return etree.fromstring(new[1]) if new[0] == "xml" else None


def same_in(m: Mapping, root: etree._Element, territory: str) -> None:
    new = outcome(engine.from_xml, m, root, territory)
    old = outcome(reference.from_xml, m, root, territory)
    assert new == old, (m.dialect, m.message, territory, etree.tostring(root)[:300])


def damaged(root: etree._Element, seed: int) -> list[etree._Element]:
    """Variants of a document: elements deleted, moved to the end, doubled (twins), codes unknown."""
    rng = random.Random(seed)
    out = []
    for _ in range(3):
        copy = etree.fromstring(etree.tostring(root))
        elements = [e for e in copy.iter() if e is not copy]
        for e in rng.sample(elements, k=min(len(elements), rng.randint(1, 4))):
            parent = e.getparent()
            if parent is None:
                continue
            change = rng.randrange(4)
            if change == 0:
                parent.remove(e)
            elif change == 1:
                parent.remove(e)
                parent.append(e)
            elif change == 2:  # a twin, before or after: the same element, some of its texts changed
                twin = deepcopy(e)
                for leaf in twin.iter():
                    if len(leaf) == 0 and rng.random() < 0.5:
                        leaf.text = (leaf.text or "") + "2"
                parent.insert(parent.index(e) + rng.randrange(2), twin)
            elif len(e) == 0:
                e.text = "ZZ9"  # a code no code list has (or a value the format cannot read)
        out.append(copy)
    return out


def check(m: Mapping, data: dict[str, Any], territory: str, seed: int) -> None:
    root = same_out(m, data, territory)
    if root is None:
        return
    for t in {territory, "GB", "NO"}:  # read as the territory it was made for and as others
        same_in(m, root, t)
    for variant in damaged(root, seed):
        same_in(m, variant, territory)


def dropped(data: dict[str, Any], seed: int) -> dict[str, Any]:
    """``data`` with a few keys removed, at any depth (required fields, blocks, list entries' fields)."""
    rng = random.Random(seed)

    def drop(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: drop(v) for k, v in value.items() if rng.random() > 0.15}
        if isinstance(value, list):
            return [drop(v) for v in value]
        return value

    return drop(data)


def _kinds(dialect: str, model: str) -> list[TransactionKind]:
    found = {
        k
        for n in mappings_of(dialect)
        for k in mapping(dialect, n).kinds
        if mapping(dialect, n).model == model
    }
    return sorted((TransactionKind(k) for k in found), key=lambda k: k.value)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("dialect", DIALECTS)
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_declarations(dialect: str, data: st.DataObject, seed: int) -> None:
    message = data.draw(declarations(_kinds(dialect, "declaration")))
    m = mapping_for(message, dialect)
    body = message.model_dump(mode="json", exclude_none=True)
    check(m, body, message.territory, seed)
    same_out(m, dropped(body, seed), message.territory)  # refusals: a required field missing


@pytest.mark.parametrize("dialect", DIALECTS)
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_responses(dialect: str, data: st.DataObject, seed: int) -> None:
    message = data.draw(responses(_kinds(dialect, "response")))
    m = mapping_for(message, dialect)
    body = message.model_dump(mode="json", exclude_none=True)
    territory = str(data.draw(st.sampled_from(TERRITORIES)))
    check(m, body, territory, seed)
    same_out(m, dropped(body, seed), territory)


@pytest.mark.parametrize("territory", TERRITORIES)
def test_every_kind_and_dialect_for_each_territory(territory: str) -> None:
    @settings(max_examples=3, deadline=None)
    @given(data=st.data(), seed=st.integers(0, 2**16))
    def run(data: st.DataObject, seed: int) -> None:
        for dialect in DIALECTS:
            for kind in _kinds(dialect, "declaration"):
                message = data.draw(declarations([kind], territory))
                check(
                    mapping_for(message, dialect),
                    message.model_dump(mode="json", exclude_none=True),
                    territory,
                    seed,
                )

    run()


def _example_declarations() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        try:
            doc = load_document(path.read_bytes())
        except Exception:  # not a carnet document, or one the model refuses (invalid-*.json): nothing to map
            continue
        for i in range(len(getattr(doc, "transactions", None) or ())):
            try:
                found.append((f"{path.name}#{i}", declaration_for(doc, i, f"EX{i}")))
            except Refusal:  # a transaction the invalid examples get wrong on purpose (reversed ranges)
                continue
    return found


EXAMPLE_DECLARATIONS = _example_declarations()


def test_examples_are_found() -> None:
    assert len(EXAMPLE_DECLARATIONS) > 20


@pytest.mark.parametrize("territory", TERRITORIES)
def test_every_example_declaration(territory: str) -> None:
    for n, (_, declaration) in enumerate(EXAMPLE_DECLARATIONS):
        for dialect in DIALECTS:
            try:
                m = mapping_for(declaration, dialect)
            except Refusal:  # the dialect has no message for this kind
                continue
            check(m, declaration.model_dump(mode="json", exclude_none=True), territory, n)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_samples(path: Path) -> None:
    root = etree.fromstring(path.read_bytes())
    if root.tag == envelope.METADATA:
        root = envelope.inner(root)
    m = core._by_root().get(root.tag)
    if m is None:
        pytest.skip(f"{root.tag}: no mapping reads it")
    for territory in ("GB", "NO", "DE", "CH"):
        same_in(m, root, territory)
    for seed in range(20):
        for variant in damaged(root, seed):
            same_in(m, variant, "GB")


def test_refusals_are_the_same() -> None:
    """Named cases: a required field missing, a value with no code, a code with no meaning."""
    message = journey_declaration("NO", message_id="REFUSE", carnet_id="C1")
    m = mapping_for(message)
    body = message.model_dump(mode="json", exclude_none=True)
    for change in ({"office": None}, {"kind": "teleportation"}, {"message_id": None}):
        changed = {k: v for k, v in {**body, **change}.items() if v is not None}
        assert outcome(engine.to_xml, m, changed, "NO", {"territory": "NO"})[0] == "refused"
        same_out(m, changed, "NO")
    items = [{k: v for k, v in item.items() if k != "description"} for item in body["items"]]
    same_out(m, {**body, "items": items}, "NO")  # required inside a group: the pointer names the entry
    root = engine.to_xml(m, body, "NO", {"territory": "NO"})
    for code in root.iter(f"{{{m.child_ns}}}StatementCode"):
        code.text = "nonsense"
    assert outcome(engine.from_xml, m, root, "NO")[0] == "refused"
    same_in(m, root, "NO")
