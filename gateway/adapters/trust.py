"""Whose signatures count for one territory: its anchors and its signers, read from the keys directory.

Two layouts, the first that exists wins:

- ``<keys>/trust/<XX>/`` — production: ``anchors/`` holds the CA certificates that vouch for the territory's
  signers, ``signers/`` the certificates of its signers (bound by subject, so a renewed certificate from
  the same CA still counts), ``pinned/`` leaf certificates trusted as they are (bound by SHA-256).
- the flat TEST PKI layout: ``<keys>/<anchor>.cert.pem`` for each of the adapter's ``trust_anchors`` and
  ``<keys>/<signer>.cert.pem`` for each of its signers (by default the territory's simulator, ``sim-<xx>``).

The gateway's own certificate never signs for a territory, whichever layout names it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from cryptography import x509

from gateway.adapter_spec import Adapter
from gateway.errors import Code, refuse
from gateway.signing import Signers, TrustStore, Verifier
from gateway.signing.trust import fingerprint

__all__ = ["absolute", "territory_verifier"]

_PEM = {".pem", ".crt", ".cer"}


def absolute(keys: Path) -> Path:
    """The cache key of a keys directory: an absolute path as given (``resolve()`` walks every component
    with lstat, per message on the hot path), a relative one against today's working directory."""
    return keys if keys.is_absolute() else keys.resolve()


def territory_verifier(adapter: Adapter, keys: Path) -> Verifier:
    """The verifier of ``adapter``'s answers and claims; built once per territory configuration."""
    return _verifier(
        absolute(keys),
        adapter.code,
        adapter.name,
        adapter.trust_anchors,
        adapter.signer_names,
        adapter.signing_key,
    )


@cache
def _verifier(
    keys: Path, code: str, name: str, anchors: tuple[str, ...], signers: tuple[str, ...], own_key: str
) -> Verifier:
    own = _certs([keys / f"{own_key}.cert.pem"], required=False)
    party = f"customs of {name} ({code})"
    folder = keys / "trust" / code
    if folder.is_dir():
        store = TrustStore(_certs(_files(folder / "anchors")), _certs(_files(folder / "pinned")))
        bound = _certs(_files(folder / "signers"))
        pins = frozenset(fingerprint(c) for c in store.pinned_certs)
        named = Signers.of(party, bound, never=own) if bound else None
        admitted = Signers(
            party,
            named.subjects if named else frozenset(),
            pins,
            frozenset(fingerprint(c) for c in own),
        )
        return Verifier(store, signers=admitted)
    store = TrustStore(_certs([keys / f"{a}.cert.pem" for a in anchors]))
    return Verifier(
        store, signers=Signers.of(party, _certs([keys / f"{s}.cert.pem" for s in signers]), never=own)
    )


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _PEM and ".key" not in p.name)


def _certs(paths: list[Path], *, required: bool = True) -> tuple[x509.Certificate, ...]:
    certs: list[x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            if not required:
                continue
            raise refuse(
                Code.NOT_CONFIGURED, "/", f"The certificate {path} cannot be read: {exc.strerror}."
            ) from None
        try:
            certs.extend(x509.load_pem_x509_certificates(data))
        except ValueError:
            raise refuse(Code.NOT_CONFIGURED, "/", f"{path} is not a PEM certificate.") from None
    return tuple(certs)
