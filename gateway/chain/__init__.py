"""The guarantee chain: life-cycle notices and claims between associations, signed and relayed."""

from gateway.chain.message import ChainKind, build, read

__all__ = ["ChainKind", "build", "read"]
