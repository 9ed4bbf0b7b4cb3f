"""The compiled engine against the interpreter on a mapping written to use every rule feature, including
those the shipped mappings do not (yet): rules writing through another rule's block element, a leaf
written again below which later rules write, attributes on the root and on leaves, twins told apart by
a two-step or parametrised constant, positional constants, derived counts and sums, ``if``, in-only and
out-only fields, absolute paths inside groups. Damaged documents (elements deleted, duplicated, moved,
codes unknown) are read by both.
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

from gateway.errors import Refusal
from gateway.translate import engine
from gateway.translate.mapping import Mapping, load_mapping
from tests.translate import reference_engine as reference

YAML = """
dialect: test
message: features
model: declaration
root: "{urn:t}Doc"
child_namespace: urn:t
namespaces: {default: "urn:t", ds: "urn:ds"}
kinds: [importation]
params: {code: "K1", flag: "", sender: "ME"}
overrides: {GB: {flag: "yes", code: "K2"}}
rules:
  - {xml: "@Version", value: "${code}"}
  - {xml: "@Id", json: id}
  - {xml: Sender, value: "${sender}.${territory}"}
  - {xml: Head/ds:Name, json: name, required: true}
  - {xml: Head/ds:Name/@lang, json: lang}
  - {xml: Head/Mode, json: mode, codelist: eata-kinds}
  - {xml: Head/Kind, json: /kind, codelist: eata-kinds, direction: out}
  - {xml: Head/Kind, json: kind_read, direction: in}
  - {xml: Amount, json: amount, format: decimal}
  - {xml: Amount/@currency, json: currency}
  - {xml: Amount, json: second_amount, format: decimal}
  - {xml: Amount/@currency, json: second_currency}
  - {xml: Node, json: node}
  - {xml: Node/Deep/Leaf, json: deep}
  - {xml: Node, json: node_again}
  - {xml: Node/Deep/Leaf2, json: deep2}
  - {xml: Node/@n, value: "1", when: node_again}
  - {xml: Node/Deep/Leaf, json: deep3}
  - xml: Box
    json: box
    rules:
      - {xml: Inner, json: inner}
      - {xml: Kind/Code, value: "A"}
  - xml: Box
    json: other_box
    rules:
      - {xml: Inner, json: inner}
      - {xml: Kind/Code, value: "B"}
  - {xml: Box/Extra, json: box_extra}
  - {xml: Box/More/Leaf, json: box_more}
  - {xml: Box/More/Other, json: box_more2}
  - {xml: Box/@mark, json: box_mark}
  - xml: Statement
    rules:
      - {xml: Text, json: s1}
      - {xml: Type, value: "${code}"}
  - xml: Statement
    when: "s2 != `null`"
    rules:
      - {xml: Text, json: s2, format: bool01}
      - {xml: Type, value: S2}
  - xml: Statement
    if: flag
    rules:
      - {xml: Text, json: s3}
      - {xml: Type, value: S3}
  - xml: Statement
    when: "matches(s4, '^[0-9]+$')"
    rules:
      - {xml: Text, json: s4}
      - {xml: Type, value: S4}
  - xml: Wrapper/Entries/Entry
    group: entries
    rules:
      - {xml: SequenceNumeric, value: "${index}"}
      - {xml: Label, json: label, required: true}
      - {xml: Weight, json: weight, format: decimal}
      - {xml: Weight/@unit, value: KGM, when: weight}
      - {xml: Owner, json: /name}
      - xml: Tags/Tag
        group: tags
        rules:
          - {xml: Position, value: "${index}"}
          - {xml: Value, json: "."}
      - xml: Part
        rules:
          - {xml: Code, value: P}
          - {xml: Text, json: part}
  - {xml: Wrapper/Count, count: entries}
  - {xml: Wrapper/Total, sum: entries.weight}
  - {xml: Wrapper/Entries/Entry/Note, json: last_note}
  - xml: Empty
    rules: []
  - {xml: Trailer, json: trailer, direction: out}
"""


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Mapping:
    path = Path(tmp_path_factory.mktemp("mapping")) / "features.yaml"
    path.write_text(YAML)
    return load_mapping(path)


words = st.text(st.sampled_from("abcXYZ019 &<>'\""), min_size=1, max_size=6)
maybe = st.none() | words
kinds = st.sampled_from(["importation", "exportation", "teleportation"])
amounts = st.decimals(min_value=0, max_value=999, places=2, allow_nan=False).map(str)
entries = st.fixed_dictionaries(
    {},
    optional={
        "label": words,
        "weight": amounts,
        "tags": st.lists(words, max_size=3),
        "part": words,
    },
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "id": words,
        "name": words,
        "lang": words,
        "mode": kinds,
        "kind": kinds,
        "amount": amounts,
        "currency": words,
        "second_amount": amounts,
        "second_currency": words,
        "node": words,
        "deep": words,
        "node_again": words,
        "deep2": words,
        "deep3": words,
        "box": st.fixed_dictionaries({}, optional={"inner": words}),
        "other_box": st.fixed_dictionaries({}, optional={"inner": words}),
        "box_extra": words,
        "box_more": words,
        "box_more2": words,
        "box_mark": words,
        "s1": words,
        "s2": st.booleans(),
        "s3": words,
        "s4": st.sampled_from(["123", "12a", "7"]),
        "entries": st.lists(entries, max_size=3),
        "last_note": words,
        "trailer": words,
    },
)


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """A result (XML as bytes) or the exception raised (a refusal by its problems)."""
    try:
        result = fn(*args)
    except Refusal as exc:
        return "refused", exc.problems
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return ("xml", etree.tostring(result)) if isinstance(result, etree._Element) else ("dict", result)


def damaged(root: etree._Element, rng: random.Random) -> etree._Element:
    copy = etree.fromstring(etree.tostring(root))
    elements = [e for e in copy.iter() if e is not copy]
    for e in rng.sample(elements, k=min(len(elements), rng.randint(1, 5))):
        parent = e.getparent()
        if parent is None:
            continue
        change = rng.randrange(4)
        if change == 0:
            parent.remove(e)
        elif change == 1:  # a twin, before or after: the same element, some of its texts changed
            twin = deepcopy(e)
            for leaf in twin.iter():
                if len(leaf) == 0 and rng.random() < 0.5:
                    leaf.text = (leaf.text or "") + "2"
            parent.insert(parent.index(e) + rng.randrange(2), twin)
        elif change == 2:
            parent.remove(e)
            parent.append(e)
        elif len(e) == 0:
            e.text = rng.choice(["ZZ9", "IMPORT", "B", "A", "K1", ""])
    return copy


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents, territory=st.sampled_from(["NO", "GB"]), seed=st.integers(0, 2**16))
def test_every_feature_the_same(features: Mapping, data: dict[str, Any], territory: str, seed: int) -> None:
    params = {"territory": territory}
    new = outcome(engine.to_xml, features, data, territory, params)
    assert new == outcome(reference.to_xml, features, data, territory, params)
    if new[0] != "xml":
        return
    root = etree.fromstring(new[1])
    rng = random.Random(seed)
    for doc in (root, *(damaged(root, rng) for _ in range(4))):
        for t in ("NO", "GB"):
            assert outcome(engine.from_xml, features, doc, t) == outcome(reference.from_xml, features, doc, t)


def test_the_features_are_written(features: Mapping) -> None:
    """The mapping does what it is for: writing through a block, a leaf written again, twins."""
    data = {
        "name": "n",
        "node": "a",
        "deep": "d",
        "node_again": "b",
        "deep2": "e",
        "deep3": "f",
        "box": {"inner": "x"},
        "other_box": {"inner": "y"},
        "box_extra": "z",
        "box_more": "m",
        "box_more2": "o",
        "box_mark": "k",
        "amount": "1.50",
        "currency": "EUR",
        "second_amount": "2",
        "second_currency": "NOK",
        "entries": [{"label": "l1", "weight": "2.5", "tags": ["t"]}, {"label": "l2", "weight": "1"}],
        "last_note": "note",
    }
    text = etree.tostring(engine.to_xml(features, data, "GB", {"territory": "GB"})).decode()
    assert (
        "<Node>a<Deep><Leaf>d</Leaf></Deep></Node>"
        '<Node n="1">b<Deep><Leaf2>e</Leaf2><Leaf>f</Leaf></Deep></Node>' in text
    )
    assert '<Amount currency="EUR">1.50</Amount><Amount currency="NOK">2</Amount>' in text
    assert (
        "<Inner>y</Inner><Kind><Code>B</Code></Kind><Extra>z</Extra><More><Leaf>m</Leaf><Other>o</Other></More>"
        in text
    )
    assert "<Total>3.5</Total>" in text and "<Note>note</Note></Entry></Entries>" in text
