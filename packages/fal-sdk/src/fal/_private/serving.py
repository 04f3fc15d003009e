"""Turn an App into a FastAPI application: one POST route per endpoint."""

from __future__ import annotations

import inspect
import json
import logging
import typing
from collections.abc import Callable
from typing import Any

import pydantic
from fastapi import FastAPI, HTTPException
from fastapi.exceptions import FastAPIError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from fal._private.app import (
    App,
    RequestContext,
    RouteSignature,
    current_request_context,
)

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-fal-request-id"
LIFECYCLE_HEADER = "x-fal-object-lifecycle-preference"
ERROR_TYPE_HEADER = "x-fal-error-type"


def build_fastapi_app(app: type[App] | App) -> FastAPI:
    """Build the HTTP server of an App class or instance.

    Given a class, the routes are bound to an instance on which neither
    ``__init__`` nor ``setup()`` ran: good for the OpenAPI document, not
    for serving requests.
    """
    instance = app if isinstance(app, App) else app.__new__(app)
    app_class = type(instance)
    server = FastAPI(title=app_class.__name__)

    server.add_api_route("/health", _health_route(instance), methods=["GET"])
    for signature, function in instance.collect_routes().items():
        _add_endpoint(server, app_class, signature, function)

    server.add_middleware(RequestContextMiddleware)
    return server


def resolve_endpoint_annotations(app_class: type[App]) -> None:
    """Replace string annotations of endpoints by the objects they name.

    A class pickled by value keeps only the globals its code mentions, so
    annotations left as strings could not be resolved in the runner.
    """
    for function in app_class.route_functions().values():
        function.__annotations__ = typing.get_type_hints(function)


class RequestContextMiddleware:
    """Expose the request's id, path and headers as App.current_request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        context = RequestContext(
            request_id=headers.get(REQUEST_ID_HEADER),
            endpoint=scope.get("path"),
            lifecycle_preference=_lifecycle_preference(headers),
            headers=headers,
        )
        token = current_request_context.set(context)
        try:
            await self.app(scope, receive, send)
        finally:
            current_request_context.reset(token)


def _lifecycle_preference(headers: dict[str, str]) -> dict[str, str] | None:
    raw = headers.get(LIFECYCLE_HEADER)
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    return {str(key): str(value) for key, value in parsed.items()}


def _health_route(instance: App) -> Callable[..., Any]:
    async def health() -> Any:
        result = instance.health()
        if inspect.isawaitable(result):
            result = await result
        return {"status": "ok"} if result is None else result

    return health


def _add_endpoint(
    server: FastAPI,
    app_class: type[App],
    signature: RouteSignature,
    function: Callable[..., Any],
) -> None:
    if signature.is_websocket:
        server.add_api_websocket_route(signature.path, function)
        return

    hints = typing.get_type_hints(function)
    handler = _endpoint_handler(app_class, function, hints)
    # The platform probes a health-check endpoint with GET; callers POST.
    methods = ["POST", "GET"] if signature.health_check else ["POST"]
    name = getattr(function, "__name__", signature.path)
    for method in methods:
        _add_route(server, signature.path, handler, method, name, hints.get("return"))


def _add_route(
    server: FastAPI,
    path: str,
    handler: Callable[..., Any],
    method: str,
    name: str,
    response_model: Any,
) -> None:
    route_name = name if method == "POST" else f"{name}_{method.lower()}"
    try:
        server.add_api_route(
            path,
            handler,
            methods=[method],
            name=route_name,
            response_model=response_model,
        )
    except FastAPIError:
        # The return annotation is not something pydantic can describe (a
        # Response subclass, say); serve the endpoint without a schema.
        server.add_api_route(
            path, handler, methods=[method], name=route_name, response_model=None
        )


def _endpoint_handler(
    app_class: type[App], function: Callable[..., Any], hints: dict[str, Any]
) -> Callable[..., Any]:
    """Wrap an endpoint so FastAPI reads its arguments from the JSON body."""
    parameters = list(inspect.signature(function).parameters.values())
    body_model, call = _body_binding(app_class, function, parameters, hints)

    if inspect.iscoroutinefunction(function):

        async def async_handler(body: Any = None) -> Any:
            try:
                return await call(body)
            except HTTPException:
                raise
            except Exception as exc:
                return _error_response(function, exc)

        handler: Callable[..., Any] = async_handler
    else:

        def sync_handler(body: Any = None) -> Any:
            try:
                return call(body)
            except HTTPException:
                raise
            except Exception as exc:
                return _error_response(function, exc)

        handler = sync_handler

    handler.__signature__ = _handler_signature(body_model)  # type: ignore[attr-defined]
    return handler


def _body_binding(
    app_class: type[App],
    function: Callable[..., Any],
    parameters: list[inspect.Parameter],
    hints: dict[str, Any],
) -> tuple[type[pydantic.BaseModel] | None, Callable[[Any], Any]]:
    """Choose the body model of an endpoint and how to call it with a body.

    One parameter typed with a pydantic model takes the whole body; plain
    parameters become the fields of a model made for the endpoint.
    """
    if not parameters:
        return None, lambda body: function()

    if len(parameters) == 1:
        annotation = hints.get(parameters[0].name)
        if _is_model(annotation):
            return annotation, lambda body: function(body)

    fields: dict[str, Any] = {}
    for parameter in parameters:
        annotation = hints.get(parameter.name, Any)
        default = (
            ... if parameter.default is inspect.Parameter.empty else (parameter.default)
        )
        fields[parameter.name] = (annotation, default)
    model_name = f"{app_class.__name__}_{function.__name__}_Input"
    model = pydantic.create_model(model_name, **fields)
    names = list(fields)
    return model, lambda body: function(**{name: getattr(body, name) for name in names})


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def _handler_signature(
    body_model: type[pydantic.BaseModel] | None,
) -> inspect.Signature:
    if body_model is None:
        return inspect.Signature([])
    parameter = inspect.Parameter(
        "body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=body_model
    )
    return inspect.Signature([parameter])


def _error_response(function: Callable[..., Any], exc: Exception) -> JSONResponse:
    error_type = type(exc).__name__
    logger.exception("Endpoint %s raised %s", function.__name__, error_type)
    return JSONResponse(
        status_code=500,
        content={"detail": str(exc) or error_type, "error_type": error_type},
        headers={ERROR_TYPE_HEADER: error_type},
    )
