"""Claims against the guarantee chain (Convention Annex A Art. 8-11): deadlines, cap, proof."""

from gateway.claims.deadlines import Assessment, assess, cap_claim, check_claim
from gateway.claims.proof import Proof, assemble_proof

__all__ = ["Assessment", "Proof", "assemble_proof", "assess", "cap_claim", "check_claim"]
