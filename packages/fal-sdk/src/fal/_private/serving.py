"""Turn an App into a FastAPI application: one route per endpoint.

Endpoints are POST routes; one whose call returns a generator streams its
items as server-sent events (``data: <json>``; an exception becomes a last
``event: error``). Websocket endpoints are websocket routes, and realtime
endpoints run the session loop of ``fal._private.realtime``.
"""

from __future__ import annotations

import collections.abc
import inspect
import json
import logging
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pydantic
from fastapi import FastAPI, HTTPException, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import FastAPIError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from fal._private.app import (
    App,
    RequestContext,
    RouteSignature,
    current_request_context,
)
from fal._private.realtime import resolve_realtime_route, serve_realtime_session

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-fal-request-id"
LIFECYCLE_HEADER = "x-fal-object-lifecycle-preference"
ERROR_TYPE_HEADER = "x-fal-error-type"
EVENT_STREAM = "text/event-stream"


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
    routes = instance.collect_routes()
    for signature, function in routes.items():
        _add_endpoint(server, app_class, signature, function)

    server.add_middleware(RequestContextMiddleware)
    _document_websockets(server, routes)
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
    if signature.is_realtime:
        route = resolve_realtime_route(signature, function)

        async def realtime_session(websocket: WebSocket) -> None:
            await serve_realtime_session(websocket, route)

        server.add_api_websocket_route(signature.path, realtime_session)
        return
    if signature.is_websocket:
        server.add_api_websocket_route(signature.path, function)
        return

    hints = typing.get_type_hints(function)
    if _is_stream_hint(hints.get("return")):
        # Generators are served as server-sent events, not as one document.
        hints = {name: hint for name, hint in hints.items() if name != "return"}
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
                return _as_event_stream(function, await call(body))
            except HTTPException:
                raise
            except Exception as exc:
                return _error_response(function, exc)

        handler: Callable[..., Any] = async_handler
    else:

        def sync_handler(body: Any = None) -> Any:
            try:
                return _as_event_stream(function, call(body))
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


def _is_stream_hint(hint: Any) -> bool:
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(
        origin, collections.abc.Iterator | collections.abc.AsyncIterator
    )


def _as_event_stream(function: Callable[..., Any], result: Any) -> Any:
    """A generator's items as server-sent events; anything else unchanged."""
    if inspect.isasyncgen(result):
        events: Any = _async_events(function, result)
    elif inspect.isgenerator(result):
        events = _sync_events(function, result)
    else:
        return result
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(events, media_type=EVENT_STREAM, headers=headers)


async def _async_events(
    function: Callable[..., Any], items: AsyncIterator[Any]
) -> AsyncIterator[bytes]:
    try:
        async for item in items:
            yield encode_event(item)
    except Exception as exc:
        yield _error_event(function, exc)


def _sync_events(function: Callable[..., Any], items: Iterator[Any]) -> Iterator[bytes]:
    try:
        for item in items:
            yield encode_event(item)
    except Exception as exc:
        yield _error_event(function, exc)


def encode_event(item: Any, event: str | None = None) -> bytes:
    """One server-sent event whose data is ``item`` as JSON."""
    if isinstance(item, pydantic.BaseModel):
        data = item.model_dump_json()
    else:
        data = json.dumps(jsonable_encoder(item))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {data}\n\n".encode()


def _error_event(function: Callable[..., Any], exc: Exception) -> bytes:
    error_type = type(exc).__name__
    logger.exception("Streaming endpoint %s raised %s", function.__name__, error_type)
    payload = {"detail": str(exc) or error_type, "error_type": error_type}
    return encode_event(payload, event="error")


def _document_websockets(
    server: FastAPI, routes: dict[RouteSignature, Callable[..., Any]]
) -> None:
    """List websocket and realtime routes in the OpenAPI document.

    OpenAPI has no websocket operations; each route gets a path item with an
    ``x-fal-websocket`` extension naming its mode, content type and models.
    """
    sockets = {s: f for s, f in routes.items() if s.is_websocket}
    if not sockets:
        return
    build_openapi = server.openapi

    def openapi() -> dict[str, Any]:
        if server.openapi_schema is not None:
            return server.openapi_schema
        document = build_openapi()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for signature, function in sockets.items():
            item = _websocket_description(signature, function, schemas)
            document.setdefault("paths", {})[signature.path] = {"x-fal-websocket": item}
        server.openapi_schema = document
        return document

    server.openapi = openapi  # type: ignore[method-assign]


def _websocket_description(
    signature: RouteSignature, function: Callable[..., Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    description: dict[str, Any] = {
        "name": getattr(function, "__name__", signature.path),
        "realtime": signature.is_realtime,
    }
    if not signature.is_realtime:
        return description
    route = resolve_realtime_route(signature, function)
    description.update(
        mode=route.mode,
        content_type=signature.content_type,
        buffering=signature.buffering,
        session_timeout=signature.session_timeout,
        max_batch_size=signature.max_batch_size,
        input=_schema_reference(route.input_model, schemas),
        output=_schema_reference(route.output_model, schemas),
    )
    return description


def _schema_reference(model: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    if not _is_model(model):
        return pydantic.TypeAdapter(model).json_schema()
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error_response(function: Callable[..., Any], exc: Exception) -> JSONResponse:
    error_type = type(exc).__name__
    logger.exception("Endpoint %s raised %s", function.__name__, error_type)
    return JSONResponse(
        status_code=500,
        content={"detail": str(exc) or error_type, "error_type": error_type},
        headers={ERROR_TYPE_HEADER: error_type},
    )
