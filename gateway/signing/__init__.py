"""XML-DSig for the gateway: sign outbound messages, verify national answers.

key = load_signing_key("gateway.key.pem", "gateway.cert.pem")   # once per process
signed = Signer(key).apply(root)
trust = TrustStore.from_paths("trust/GB/anchors")                # CA certificates only
verified = Verifier(trust, signers=Signers.of("customs of GB", gb_certs)).verify(answer_bytes)
use(verified.signed_root)                                       # never the original tree
"""

from gateway.signing.keys import SigningKey, load_signing_key
from gateway.signing.signer import Signer
from gateway.signing.trust import Signers, TrustStore
from gateway.signing.verifier import ALLOWED_DIGESTS, ALLOWED_SIGNATURE_METHODS, Verified, Verifier

__all__ = [
    "ALLOWED_DIGESTS",
    "ALLOWED_SIGNATURE_METHODS",
    "Signer",
    "Signers",
    "SigningKey",
    "TrustStore",
    "Verified",
    "Verifier",
    "load_signing_key",
]
