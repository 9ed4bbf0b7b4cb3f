"""The service's settings are the gateway's one settings object (:mod:`gateway.settings`)."""

from gateway.settings import Settings

__all__ = ["Settings"]
