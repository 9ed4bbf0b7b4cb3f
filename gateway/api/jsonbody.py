"""Request bodies validated from the raw JSON bytes (pydantic JSON mode, strict), with OpenAPI schemas.

FastAPI validates bodies in Python mode, where strict models refuse JSON arrays for tuples and strings
for enums; validating the bytes keeps one strict model for files, the CLI and the API alike.
"""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request, routing
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from gateway.errors import Code, Refusal, refuse
from gateway.model.load import problems_from_validation

M = TypeVar("M", bound=BaseModel)
_REF = "#/components/schemas/{model}"


def _nobody() -> None:
    return None


def json_body(model: type[M], after: Callable[..., Any] | None = None) -> Any:
    """The body as ``model``; ``after`` (the caller's authentication) is resolved first, so a stranger
    is refused as such (401/403) before anything about the body is said."""

    async def read(request: Request, _authenticated: Any = Depends(after or _nobody)) -> M:
        raw = await request.body()
        if not raw:
            raise refuse(Code.MISSING, "/", "a JSON body is required")
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise Refusal(problems_from_validation(exc)) from None

    read.__name__ = f"read_{model.__name__}"
    read.__body_model__ = model  # type: ignore[attr-defined]  # found again by install_openapi
    return Annotated[model, Depends(read)]


def api_routes(app: FastAPI) -> list[tuple[APIRoute, str]]:
    """Every API route of ``app`` with its path, those of included routers too (which newer FastAPI
    keeps inside the router rather than copying into ``app.routes``)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:  # FastAPI that copies included routes into the app
        return [(r, r.path_format) for r in app.routes if isinstance(r, APIRoute)]
    return [
        (c.original_route, c.path_format or c.original_route.path_format)
        for c in contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
    ]


def install_openapi(app: FastAPI) -> None:
    """Document every ``json_body`` route's request body in the OpenAPI schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for route, path in api_routes(app):
            for dep in route.dependant.dependencies:
                model = getattr(dep.call, "__body_model__", None)
                if model is None:
                    continue
                js = model.model_json_schema(ref_template=_REF, mode="validation")
                components.update(js.pop("$defs", {}))
                components[model.__name__] = js
                for method in route.methods or ():
                    schema["paths"][path][method.lower()]["requestBody"] = {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}
                        },
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
