"""Translation benchmark: model → XML → XSD check → signature, per message, for 5 to 5,000 goods items.

Floor, measured in the same run on the same document: lxml building the identical tree element by
element (no mapping logic), lxml XSD validation of it, and an RSA-SHA256 enveloped signature with a key
loaded once. Targets (issue 3): ≤ 1.3× the floor at 50 items, ≤ 1.5× at 5,000, linear growth.
Above 999 items the WCO declaration is split into several messages (its GovernmentAgencyGoodsItem limit);
both sides do the same work for them.

    python benchmarks/translate.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.testpki import make_test_pki  # noqa: E402
from gateway.messages import declaration_for, split  # noqa: E402
from gateway.model import load_document  # noqa: E402
from gateway.signing import Signer, load_signing_key  # noqa: E402
from gateway.translate import mapping_for, to_xml  # noqa: E402
from gateway.translate.schemas import compiled, profile  # noqa: E402

SIZES = (5, 50, 500, 5000)


def message(n: int):  # type: ignore[no-untyped-def]
    doc = load_document((ROOT / "examples" / "journey-gb.json").read_bytes())
    base = declaration_for(doc, 2, "EATABENCH0001")
    item = base.items[0]
    items = tuple(
        item.model_copy(
            update={"item_number": i, "value": Decimal(1000 + i), "description": f"{item.description} #{i}"}
        )
        for i in range(1, n + 1)
    )
    return base.model_copy(update={"items": items})


def rebuild(src: etree._Element) -> etree._Element:
    """The floor's builder: the same elements, attributes and text, created directly with lxml."""
    root = etree.Element(src.tag, nsmap=src.nsmap)

    def copy(s: etree._Element, d: etree._Element) -> None:
        for child in s:
            c = etree.SubElement(d, child.tag, dict(child.attrib))
            c.text = child.text
            copy(child, c)

    copy(src, root)
    return root


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        pki = make_test_pki(tmp, ["gateway"])
        signer = Signer(load_signing_key(pki["gateway"].key, pki["gateway"].cert))
    print(f"{'items':>6} {'messages':>8} {'ours ms':>9} {'floor ms':>9} {'ratio':>6} {'ms/item':>8}  target")
    for n in SIZES:
        msg = message(n)
        parts = split(msg, 999)
        schema = compiled(profile(mapping_for(msg).xsd or ""))
        # Norway: the bare WCO declaration the profile XSD describes (GB wraps it in HMRC's md:MetaData)
        built = [to_xml(p, "NO") for p in parts]

        def ours(parts=parts) -> None:  # type: ignore[no-untyped-def]
            for p in parts:
                signer.apply(to_xml(p, "NO"))  # builds, validates (XSD) and signs

        def floor(built=built, schema=schema) -> None:  # type: ignore[no-untyped-def]
            for b in built:
                root = rebuild(b)
                assert schema.validate(root)
                signer.apply(root)

        repeat = 3 if quick else (30 if n <= 50 else 10 if n <= 500 else 3)
        ours()
        floor()
        o, f = best(ours, repeat), best(floor, repeat)
        target = {50: "≤ 1.3×", 5000: "≤ 1.5×"}.get(n, "")
        print(
            f"{n:>6} {len(parts):>8} {o * 1e3:>9.2f} {f * 1e3:>9.2f} {o / f:>5.2f}× {o / n * 1e3:>8.4f}  {target}"
        )
    # Memory in a separate pass: tracing slows Python code and would distort the timings above.
    tracemalloc.start()
    for p in split(message(5000), 999):
        signer.apply(to_xml(p, "NO"))
    _, peak = tracemalloc.get_traced_memory()
    print(f"peak traced Python memory at 5,000 items: {peak / 2**20:.1f} MiB (libxml2/OpenSSL not traced)")


if __name__ == "__main__":
    main()
