"""Hardened parsing: hostile XML is refused before it costs anything, benign XML parses."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import Code, Refusal
from gateway.xmlsafe import DEFAULT_LIMITS, XmlLimits, parse_xml, serialize

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DEFUSED = SHARED / "vectors" / "defusedxml" / "xmltestdata"

# defusedxml/MANIFEST expectations (section 3): every DTD-bearing file is hostile for us, even the "benign"
# xmlbomb2/dtd_element ones — SOAP and the customs dialects never carry a DTD.
HOSTILE = [
    "xmlbomb.xml",
    "xmlbomb2.xml",
    "quadratic.xml",
    "external.xml",
    "external_file.xml",
    "cyclic.xml",
    "dtd.xml",
    "dtd_element.xml",
]
BENIGN = ["simple.xml", "simple-ns.xml"]


def _vector(name: str) -> bytes:
    if not DEFUSED.is_dir():
        pytest.skip(
            "../shared/vectors not present: third-party vectors are read from ../shared, never copied"
        )
    data = (DEFUSED / name).read_bytes()
    # external_file.xml carries a placeholder path; point it at a real local file to prove it is not read.
    return data.replace(b"/PATH/TO/xmltestdata/", str(DEFUSED).encode() + b"/")


def _refused(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> Refusal:
    with pytest.raises(Refusal) as info:
        parse_xml(data, limits=limits)
    return info.value


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket from Python fails the test (libxml2's own I/O is off via no_network)."""

    def guard(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", guard)
    monkeypatch.setattr(socket.socket, "connect", guard)


@pytest.mark.parametrize("name", HOSTILE)
def test_defusedxml_hostile_vectors_are_refused_as_hostile(name: str, no_network: None) -> None:
    refusal = _refused(_vector(name))
    assert refusal.code == Code.HOSTILE_XML
    assert refusal.problems[0].pointer == "/"
    assert "DOCTYPE" in refusal.problems[0].message


@pytest.mark.parametrize("name", BENIGN)
def test_defusedxml_benign_controls_parse(name: str) -> None:
    root = parse_xml(_vector(name))
    assert etree.QName(root).localname == "root"
    assert [etree.QName(e).localname for e in root] == ["element", "element", "empty-element"]


def test_processing_instructions_are_stripped_not_acted_on() -> None:
    root = parse_xml(
        b'<?xml-stylesheet type="text/xsl" href="http://evil.invalid/x.xsl"?><r><?php system("id") ?><a/></r>'
    )
    assert [c.tag for c in root] == ["a"]
    assert root.getprevious() is None
    assert b"<?" not in serialize(root).split(b"?>", 1)[1]


def test_xinclude_is_never_processed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{secret}" parse="text"/></r>'
    root = parse_xml(doc.encode())
    assert b"TOP-SECRET" not in serialize(root)
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"


def test_internal_subset_hidden_after_comment_and_pi_is_refused() -> None:
    data = b'<?xml version="1.0"?>\n<!-- hi --><?pi x?>\n<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'
    assert _refused(data).code == Code.HOSTILE_XML


def test_bom_then_doctype_is_refused() -> None:
    assert (
        _refused(b'\xef\xbb\xbf<!DOCTYPE r SYSTEM "http://evil.invalid/x.dtd"><r/>').code == Code.HOSTILE_XML
    )


def test_doctype_text_inside_a_prolog_comment_is_harmless() -> None:
    assert parse_xml(b"<!-- <!DOCTYPE r> is not allowed here --><r/>").tag == "r"


def test_utf16_doctype_is_refused() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'.encode("utf-16")
    assert _refused(data).code == Code.HOSTILE_XML


def test_utf16_benign_document_parses() -> None:
    root = parse_xml('<?xml version="1.0" encoding="UTF-16"?><r>é</r>'.encode("utf-16"))
    assert root.text == "é"


def test_billion_laughs_is_refused_quickly() -> None:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">{entities}]><lolz>&l9;</lolz>'.encode()
    assert _refused(bomb).code == Code.HOSTILE_XML


def test_undeclared_entity_reference_is_unreadable_with_position() -> None:
    refusal = _refused(b"<r>\n  <a>&nope;</a></r>")
    assert refusal.code == Code.UNREADABLE
    assert "line 2" in refusal.problems[0].message


def test_malformed_xml_reports_line_and_column() -> None:
    refusal = _refused(b"<r>\n<a>\n</b></r>")
    assert refusal.code == Code.UNREADABLE
    message = refusal.problems[0].message
    assert "line 3" in message and "column" in message and "mismatch" in message


def test_size_limit_is_checked_before_parsing() -> None:
    limits = XmlLimits(max_bytes=100)
    refusal = _refused(b"<r>" + b"x" * 200 + b"</r>", limits)
    assert refusal.code == Code.TOO_LARGE
    # Over-size garbage is refused as too large, proving nothing parsed it first.
    assert _refused(b"<<<" * 100, limits).code == Code.TOO_LARGE


def test_depth_limit() -> None:
    limits = XmlLimits(max_depth=10)
    ok = b"<a>" * 10 + b"</a>" * 10
    assert parse_xml(ok, limits=limits).tag == "a"
    refusal = _refused(b"<a>" * 11 + b"</a>" * 11, limits)
    assert refusal.code == Code.TOO_LARGE and "10" in refusal.problems[0].message


def test_depth_bomb_is_refused_cheaply() -> None:
    bomb = b"<a>" * 100_000 + b"</a>" * 100_000
    assert _refused(bomb).code == Code.TOO_LARGE


def test_element_count_limit() -> None:
    limits = XmlLimits(max_elements=100)
    assert _refused(b"<r>" + b"<i/>" * 100 + b"</r>", limits).code == Code.TOO_LARGE
    assert len(parse_xml(b"<r>" + b"<i/>" * 99 + b"</r>", limits=limits)) == 99


@pytest.mark.parametrize("data", [b"", b"   ", b"\xef\xbb\xbf"])
def test_empty_input_is_unreadable(data: bytes) -> None:
    assert _refused(data).code == Code.UNREADABLE


def test_serialize_round_trip_is_byte_stable() -> None:
    root = parse_xml(b'<r xmlns="urn:x"><a b="1">t</a></r>')
    once = serialize(root)
    assert serialize(parse_xml(once)) == once
    assert once.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_parser_is_safe_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    docs = [f"<r><n>{i}</n></r>".encode() for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda d: parse_xml(d)[0].text, docs))
    assert values == [str(i) for i in range(200)]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        XmlLimits(max_depth=0)


# -- the fast paths' boundaries: they answer sooner, never differently -------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
        b'<?xml version="1.0"?>\n \t\r\n<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
        b'<?xml version="1.0"?>\n<!-- c --><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
        b'<?xml version="1.0"?><?pi x?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
        b'<!-- c --><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
        b'<?xml-stylesheet href="a"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
        b'  <!DOCTYPE r SYSTEM "http://evil.invalid/x.dtd"><r/>',
    ],
)
def test_doctype_after_the_declaration_or_a_comment_is_still_refused(data: bytes) -> None:
    assert _refused(data).code == Code.HOSTILE_XML


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<r a="1"/>',
        b"<?xml version='1.0' encoding='UTF-8'?>\r\n\t <r/>",
        b"<?xml version='1.0'?><r/>",
        b"  <r/>",
        b"<r/>",
    ],
)
def test_declaration_then_root_parses(data: bytes) -> None:
    assert parse_xml(data).tag == "r"


def test_unterminated_declaration_is_unreadable() -> None:
    assert _refused(b'<?xml version="1.0" <r/>').code == Code.UNREADABLE


def test_element_count_at_the_byte_bound() -> None:
    # The tightest document for n elements is '<r>' + '<i/>' * (n - 1) + '</r>': 4n + 3 bytes, so
    # size // 4 == n exactly; one element over the limit must still be counted and refused.
    limits = XmlLimits(max_elements=100)
    over = b"<r>" + b"<i/>" * 100 + b"</r>"
    assert len(over) // 4 == 101
    refusal = _refused(over, limits)
    assert refusal.code == Code.TOO_LARGE and "101" in refusal.problems[0].message
    at_limit = b"<r>" + b"<i/>" * 99 + b"</r>"
    assert len(at_limit) // 4 == 100
    assert len(parse_xml(at_limit, limits=limits)) == 99
    # padding that pushes the size past the bound changes nothing either way
    assert _refused(over + b" " * 1000, limits).code == Code.TOO_LARGE
    assert len(parse_xml(at_limit + b" " * 1000, limits=limits)) == 99
    # with a declaration, as real messages have one
    assert _refused(b"<?xml version='1.0'?>" + over, limits).code == Code.TOO_LARGE


def test_element_count_limit_in_utf16() -> None:
    limits = XmlLimits(max_elements=100)
    data = ("<r>" + "<i/>" * 100 + "</r>").encode("utf-16")
    assert _refused(data, limits).code == Code.TOO_LARGE
