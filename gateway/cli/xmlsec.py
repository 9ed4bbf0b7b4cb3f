"""``eata-gateway sign`` and ``eata-gateway verify``: XML-DSig from the command line."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.app import app
from gateway.cli.output import EXIT_UNUSABLE, emit_json, err_console, exit_for, read_input, report_refusal
from gateway.errors import Code, Refusal
from gateway.signing import Signer, TrustStore, Verifier, load_signing_key
from gateway.xmlsafe import parse_xml, serialize

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _read(path: Path, as_json: bool) -> bytes:
    return read_input(path, as_json=as_json)


def _config_problem(refusal: Refusal, as_json: bool) -> None:
    # Unreadable keys, certificates or trust anchors make the command unusable (2), not the document refused (1).
    if refusal.code == Code.NOT_CONFIGURED:
        report_refusal(refusal, as_json=as_json, exit_code=EXIT_UNUSABLE)


@app.command()
def sign(
    file: Annotated[Path, typer.Argument(help="XML document to sign.")],
    key: Annotated[Path | None, typer.Option("--key", help="PEM private key.")] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="PEM certificate (chain) of the key.")] = None,
    p12: Annotated[Path | None, typer.Option("--p12", help="PKCS#12 file with key and certificate.")] = None,
    password: Annotated[
        str | None, typer.Option("--password", envvar="EATA_KEY_PASSWORD", help="Key or PKCS#12 password.")
    ] = None,
    algorithm: Annotated[str | None, typer.Option("--algorithm", help="rsa-sha256 or ecdsa-sha256.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign FILE with an enveloped XML signature; the signed XML goes to stdout."""
    if (p12 is None) == (key is None):
        err_console.print("give either --key (with --cert) or --p12")
        raise typer.Exit(EXIT_UNUSABLE)
    data = _read(file, as_json)
    try:
        if p12 is not None:
            signing_key = load_signing_key(p12, None, password)
        else:
            assert key is not None  # one of --key and --p12, checked above
            signing_key = load_signing_key(key, cert, password)
        signer = Signer(signing_key, algorithm)  # type: ignore[arg-type]  # --algorithm unchecked: Signer refuses a name it does not offer
    except Refusal as refusal:
        _config_problem(refusal, as_json)
        report_refusal(refusal, as_json=as_json)
    try:
        signed = serialize(signer.apply(parse_xml(data)))
    except Refusal as refusal:  # malformed, hostile or too large: 2
        report_refusal(refusal, as_json=as_json, exit_code=exit_for(refusal))
    if as_json:
        emit_json(
            {
                "signed": True,
                "algorithm": signer.algorithm,
                "signer": signing_key.subject,
                "xml": signed.decode(),
            }
        )
    else:
        sys.stdout.buffer.write(signed)
        sys.stdout.buffer.flush()


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="Signed XML document.")],
    trust: Annotated[
        list[Path],
        typer.Option(
            "--trust", help="Directory or PEM file of trusted CA certificates (anchors); repeatable."
        ),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    pin: Annotated[
        list[Path],
        typer.Option("--pin", help="PEM file of a signer's own certificate, trusted as it is; repeatable."),
    ] = [],  # noqa: B006
    at: Annotated[
        str | None, typer.Option("--at", help="Check certificate validity at this ISO time instead of now.")
    ] = None,
    references: Annotated[
        int, typer.Option("--references", help="Number of signed references expected.")
    ] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Verify FILE's signature against the trust store; exit 0 if valid, 1 if refused, 2 if unusable."""
    data = _read(file, as_json)
    try:
        when = dt.datetime.fromisoformat(at) if at else None
    except ValueError:
        err_console.print(f"--at is not an ISO date-time: {at}")
        raise typer.Exit(EXIT_UNUSABLE) from None
    try:
        verifier = Verifier(
            TrustStore.from_paths(trust, pinned=pin), expect_references=references, verification_time=when
        )
    except Refusal as refusal:
        report_refusal(refusal, as_json=as_json, exit_code=EXIT_UNUSABLE)
    try:
        verified = verifier.verify(data)
    except Refusal as refusal:  # unusable XML 2; a missing, invalid or untrusted signature 1
        report_refusal(refusal, as_json=as_json, exit_code=exit_for(refusal))
    algorithm = verified.signature_algorithm.rsplit("#", 1)[-1]
    if as_json:
        emit_json(
            {
                "verified": True,
                "signer": verified.signer_subject,
                "algorithm": algorithm,
                "signed_element": verified.signed_root.tag,
                "references": len(verified.signed_roots),
            }
        )
    else:
        typer.echo(
            f"valid {algorithm} signature by {verified.signer_subject} over {verified.signed_root.tag}"
        )
