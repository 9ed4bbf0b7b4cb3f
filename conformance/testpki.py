"""Generate a throw-away TEST PKI for the gateway's signing tests and demo.

Everything written here is TEST material: a root CA named "eATA TEST Root CA - NOT FOR PRODUCTION", one key and
certificate per party, an expired certificate and a self-signed (untrusted) one for negative tests. It is made
at run time into a directory the caller chooses (a pytest tmp dir, a demo scratch dir) and never committed.

Usage: ``python -m conformance.testpki OUTDIR gateway sim-gb sim-no``

Parties get ECDSA P-256 keys (fast to make) except those named in ``rsa`` — by default ``gateway`` and the
extra ``rsa`` party — which get RSA-2048, because RSA-SHA256 is what most national endpoints expect. The
parties ``rsa`` and ``ecdsa`` are always added so both algorithms are covered. Output files:
``ca.cert.pem``, ``ca.key.pem``, ``<name>.key.pem``, ``<name>.cert.pem``, ``expired.{key,cert}.pem``,
``untrusted.{key,cert}.pem``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

CA_NAME = "eATA TEST Root CA - NOT FOR PRODUCTION"
ORG = "eATA gateway TEST PKI"


@dataclass(frozen=True)
class Party:
    """Paths of one party's key and certificate."""

    name: str
    key: Path
    cert: Path
    algorithm: str  # "rsa" or "ecdsa"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key(algorithm: str) -> PrivateKey:
    if algorithm == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key: PrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _ca(now: dt.datetime) -> tuple[PrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(CA_NAME)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=365))  # covers the expired party's whole validity
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    common_name: str,
    key: PrivateKey,
    issuer_key: PrivateKey,
    issuer: x509.Name,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_key is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_test_pki(
    directory: str | Path,
    names: Iterable[str] = ("gateway",),
    *,
    rsa_names: Iterable[str] = ("gateway", "rsa"),
) -> dict[str, Party]:
    """Write a TEST PKI into ``directory``; return the parties by name (plus ``ca``, ``expired``, ``untrusted``).

    ``ca`` points at the CA key/cert. Parties ``rsa`` and ``ecdsa`` are always included.
    """
    rsa_set = set(rsa_names)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_key, ca_cert = _ca(now)
    _write_key(out / "ca.key.pem", ca_key)
    _write_cert(out / "ca.cert.pem", ca_cert)
    parties: dict[str, Party] = {"ca": Party("ca", out / "ca.key.pem", out / "ca.cert.pem", "ecdsa")}

    wanted = list(dict.fromkeys([*names, "rsa", "ecdsa"]))
    for name in wanted:
        if not name or "/" in name or name in {"ca", "expired", "untrusted"}:
            raise ValueError(f"unusable party name: {name!r}")
        algorithm = "rsa" if name in rsa_set else "ecdsa"
        key = _new_key(algorithm)
        cert = _leaf(
            f"{name} (TEST)",
            key,
            ca_key,
            ca_cert.subject,
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=365),
        )
        parties[name] = _save(out, name, key, cert, algorithm)

    # Expired: issued by the trusted CA, validity ended yesterday.
    key = _new_key("ecdsa")
    cert = _leaf(
        "expired (TEST)",
        key,
        ca_key,
        ca_cert.subject,
        now - dt.timedelta(days=30),
        now - dt.timedelta(days=1),
    )
    parties["expired"] = _save(out, "expired", key, cert, "ecdsa")

    # Untrusted: self-signed, no path to the CA.
    key = _new_key("ecdsa")
    cert = _leaf(
        "untrusted (TEST)",
        key,
        key,
        _name("untrusted (TEST)"),
        now - dt.timedelta(days=1),
        now + dt.timedelta(days=365),
    )
    parties["untrusted"] = _save(out, "untrusted", key, cert, "ecdsa")
    return parties


def _save(out: Path, name: str, key: PrivateKey, cert: x509.Certificate, algorithm: str) -> Party:
    party = Party(name, out / f"{name}.key.pem", out / f"{name}.cert.pem", algorithm)
    _write_key(party.key, key)
    _write_cert(party.cert, cert)
    return party


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a throw-away TEST PKI (never for production).")
    parser.add_argument("directory")
    parser.add_argument("names", nargs="*", default=["gateway"])
    args = parser.parse_args(argv)
    for name, party in make_test_pki(args.directory, args.names).items():
        print(f"{name:12} {party.algorithm:6} {party.cert}")


if __name__ == "__main__":
    main()
