"""A long-running worker verifies every answer: verification must not keep memory (it once kept ~1.8 KB
each, through signxml's default certificate policies bound to a throw-away object)."""

from __future__ import annotations

import gc
import tracemalloc

from lxml import etree

from gateway.signing import Signer, TrustStore, Verifier, load_signing_key
from gateway.xmlsafe import serialize


def test_verification_holds_no_memory(pki: dict) -> None:
    party = pki["gateway"]
    data = serialize(
        Signer(load_signing_key(party.key, party.cert)).apply(etree.fromstring(b"<a><b>1</b></a>"))
    )
    verifier = Verifier(TrustStore.from_paths([party.cert.parent / "ca.cert.pem"]))
    for _ in range(100):  # warm caches first
        verifier.verify(data)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            verifier.verify(data)
        gc.collect()
        kept = (tracemalloc.get_traced_memory()[0] - before) / 1000
    finally:
        tracemalloc.stop()
    assert kept < 100, f"{kept:.0f} bytes kept per verification"
