"""The REST API's routes, one :class:`fastapi.APIRouter` per role (its OpenAPI tag).

Each module's ``router`` is included by :func:`gateway.api.app.create_app`; its routes reach the
service and the caller through :mod:`gateway.api.routes.deps` and call only the public methods of the
role's service (``service.holders.prepare(…)``). No module here reads a private attribute of a service
(``tests/packaging/test_layers.py`` checks).
"""

from gateway.api.routes import customs, events, holders, issuers, operations, representatives, testers

__all__ = ["customs", "events", "holders", "issuers", "operations", "representatives", "testers"]
