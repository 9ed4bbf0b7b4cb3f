"""Validated certificate paths are cached per certificate set, and used only while every certificate on
the path is valid: the latest start and the earliest end of the chain bound the window."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from gateway.signing.enveloped import PathCache


def test_a_cached_path_is_used_only_inside_every_certificates_validity(pki: dict) -> None:
    leaf = x509.load_pem_x509_certificate(pki["gateway"].cert.read_bytes())
    ca = x509.load_pem_x509_certificate(pki["ca"].cert.read_bytes())
    start = max(leaf.not_valid_before_utc, ca.not_valid_before_utc)
    end = min(leaf.not_valid_after_utc, ca.not_valid_after_utc)
    assert start < end
    cache = PathCache()
    ders = (b"leaf", b"ca")
    assert cache.get(ders, start) is None
    cache.put(ders, (leaf, ca))
    second = dt.timedelta(seconds=1)
    assert cache.get(ders, start) == (leaf, ca)
    assert cache.get(ders, end) == (leaf, ca)
    assert cache.get(ders, start - second) is None  # not yet valid: validated again
    assert cache.get(ders, end + second) is None  # expired: validated again
    assert cache.get((b"leaf",), start) is None


def test_the_cache_stays_bounded(pki: dict) -> None:
    leaf = x509.load_pem_x509_certificate(pki["gateway"].cert.read_bytes())
    cache = PathCache(limit=2)
    for n in range(3):
        cache.put((bytes([n]),), (leaf,))
    now = leaf.not_valid_before_utc
    assert cache.get((b"\x00",), now) is None
    assert cache.get((b"\x02",), now) == (leaf,)
