"""The guarantee chain: life-cycle notices and claims between associations, signed and relayed."""

from gateway.chain.message import ChainKind, build, read

__all__ = ["ChainKind", "build", "demo_flow", "read"]


def __getattr__(name: str) -> object:
    # lazy: the codec stays importable without pika/sqlalchemy; the demo helper pulls in the relay
    if name == "demo_flow":
        from gateway.chain.demo import demo_flow

        return demo_flow
    raise AttributeError(name)
