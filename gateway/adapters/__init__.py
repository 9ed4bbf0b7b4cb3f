"""Territory adapters: the registry of ``adapters/*.py`` and the delivery entry point (the config type is
:mod:`gateway.adapter_spec`, re-exported here)."""

from gateway.adapter_spec import Adapter, OAuth, Office, RetryPolicy, Timeouts

__all__ = ["Adapter", "OAuth", "Office", "RetryPolicy", "Timeouts"]
