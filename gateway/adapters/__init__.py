"""Territory adapters: the config base, the registry of ``adapters/*.py`` and the delivery entry point."""

from gateway.adapters.base import Adapter, OAuth, Office, RetryPolicy, Timeouts

__all__ = ["Adapter", "OAuth", "Office", "RetryPolicy", "Timeouts"]
