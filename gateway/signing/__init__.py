"""XML-DSig for the gateway: sign outbound messages, verify national answers.

key = load_signing_key("gateway.key.pem", "gateway.cert.pem")   # once per process
signed = Signer(key).apply(root)
verified = Verifier(TrustStore.from_paths("trust/GB")).verify(answer_bytes)
use(verified.signed_root)                                       # never the original tree
"""

from gateway.signing.keys import SigningKey, load_signing_key
from gateway.signing.signer import Signer
from gateway.signing.trust import TrustStore
from gateway.signing.verifier import ALLOWED_DIGESTS, ALLOWED_SIGNATURE_METHODS, Verified, Verifier

__all__ = [
    "ALLOWED_DIGESTS",
    "ALLOWED_SIGNATURE_METHODS",
    "Signer",
    "SigningKey",
    "TrustStore",
    "Verified",
    "Verifier",
    "load_signing_key",
]
