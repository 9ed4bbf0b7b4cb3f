"""The pure message pipeline: message → XML → XSD → signature, and signed bytes → verified message.

No I/O: workers, simulators, the API and the CLI all call these two functions.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.signing import Signer, Verifier
from gateway.translate import Message, from_xml, to_xml
from gateway.translate.core import Context
from gateway.xmlsafe import XmlLimits, parse_xml, serialize

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_SIGNATURE = f"{{{DSIG_NS}}}Signature"


def encode(message: Message, territory: str, signer: Signer | None = None, **kw: Any) -> bytes:
    """Build, validate (XSD) and sign the national document for ``message``."""
    root = to_xml(message, territory, **kw)
    if signer is not None:
        return signer.sign(root)  # canonical bytes: the receiver verifies them without a second C14N
    return serialize(root)


def without_signature(root: etree._Element) -> etree._Element:
    """A verified document without its enveloped signature, for the XSD and the mapping: ``root`` itself
    when it has none (the verifier's fast path already took it out), otherwise a copy without it."""
    if root.find(_SIGNATURE) is None:
        return root
    copy = etree.fromstring(etree.tostring(root))
    for sig in copy.findall(_SIGNATURE):
        copy.remove(sig)
    return copy


def decode(
    data: bytes,
    territory: str,
    verifier: Verifier | None = None,
    *,
    limits: XmlLimits | None = None,
    context: Context = None,
) -> Message:
    """Parse safely, verify the signature (when a verifier is given), then read the signed content only."""
    if verifier is not None:
        verified = verifier.verify(data)
        root = without_signature(verified.signed_root)
    else:
        root = parse_xml(data, limits=limits) if limits else parse_xml(data)
    return from_xml(root, territory, context=context)
