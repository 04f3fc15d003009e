"""The HTTP gateway: ``POST /{owner}/{alias}[/{path}]`` to a runner.

The gateway authenticates the caller by the app's auth mode, picks a slot
from the revision's runner pool (waiting for a runner to start if needed)
and forwards the body to the runner. The runner's status code, body and
content type come back unchanged, with ``x-fal-request-id``.

Responses are relayed as they arrive (server-sent events are not
buffered), and the runner slot is held until the body is done; a client that
disconnects closes the connection to the runner, which cancels the handler.
``.../stream`` after an endpoint's path serves that endpoint with
``accept: text/event-stream``. Websockets on the same URLs are relayed to
the runner both ways, holding a runner slot for the life of the session.
Private apps take a key in ``Authorization`` or a short-lived app token
(``fal_jwt_token`` query parameter, or ``Authorization: Bearer``) issued by
``POST /tokens/``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

import httpx
import websockets
from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import HTTPConnection
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from fal_proto import registry_pb2
from fal_scheduler.errors import (
    AppNotFoundError,
    InvalidKeyError,
    PoolClosedError,
    RegistryUnavailableError,
    SetupFailingError,
)
from fal_scheduler.metrics import SchedulerMetrics
from fal_scheduler.pool import Lease, RunnerPool
from fal_scheduler.pools import RunnerPools
from fal_scheduler.registry import Identity, RegistryClient, parse_key_header
from fal_scheduler.streaming import UpstreamResponse, relay_websocket
from fal_scheduler.tokens import (
    DEFAULT_TOKEN_SECONDS,
    MAX_TOKEN_SECONDS,
    AppTokens,
    InvalidTokenError,
)

__all__ = ["RESERVED_OWNERS", "GatewayConfig", "GatewayError", "create_gateway"]

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-fal-request-id"
# First path segments that belong to the platform, never to an owner.
RESERVED_OWNERS = frozenset(
    {"health", "metrics", "queue", "requests", "docs", "openapi.json", "ws", "tokens"}
)
TOKEN_QUERY_PARAMETER = "fal_jwt_token"
STREAM_SUFFIX = "/stream"
EVENT_STREAM = "text/event-stream"
_FORWARDED_REQUEST_HEADERS = ("content-type", "accept")
_DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "date",
        "server",
    }
)


class GatewayError(Exception):
    """An error answered as ``{"detail": ...}`` with a status code."""

    def __init__(self, status_code: int, detail: str, known_app: bool = True) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        # Metrics label requests by app only for apps that exist, so that
        # random URLs cannot grow the label set.
        self.known_app = known_app


@dataclass(frozen=True)
class GatewayConfig:
    max_body_bytes: int = 64 * 1024 * 1024
    default_request_timeout: float = 3600.0
    # Signs app tokens; the scheduler passes the platform's internal secret.
    # Empty: a random secret, so tokens hold only in this process.
    token_secret: str = ""


def create_gateway(
    registry: RegistryClient,
    pools: RunnerPools,
    metrics: SchedulerMetrics,
    config: GatewayConfig | None = None,
    queue_router: APIRouter | None = None,
) -> FastAPI:
    """The gateway's ASGI app; the caller owns the lifecycle of its parts."""
    config = config or GatewayConfig()
    client = httpx.AsyncClient(timeout=None)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    tokens = AppTokens(config.token_secret or secrets.token_hex(32))
    forwarder = _Forwarder(registry, pools, metrics, config, client, tokens)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(
            generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    if queue_router is not None:  # before the catch-all run routes
        app.include_router(queue_router)

    @app.post("/tokens")
    @app.post("/tokens/")
    async def issue_token(request: Request) -> Response:
        return await forwarder.issue_token(request)

    @app.post("/{owner}/{alias}")
    async def run_root(owner: str, alias: str, request: Request) -> Response:
        return await forwarder.handle(owner, alias, "", request)

    @app.post("/{owner}/{alias}/{path:path}")
    async def run_path(owner: str, alias: str, path: str, request: Request) -> Response:
        return await forwarder.handle(owner, alias, path, request)

    @app.websocket("/{owner}/{alias}")
    async def websocket_root(owner: str, alias: str, websocket: WebSocket) -> None:
        await forwarder.handle_websocket(owner, alias, "", websocket)

    @app.websocket("/{owner}/{alias}/{path:path}")
    async def websocket_path(
        owner: str, alias: str, path: str, websocket: WebSocket
    ) -> None:
        await forwarder.handle_websocket(owner, alias, path, websocket)

    return app


class _Forwarder:
    """Handles one run request from the URL to the runner and back."""

    def __init__(
        self,
        registry: RegistryClient,
        pools: RunnerPools,
        metrics: SchedulerMetrics,
        config: GatewayConfig,
        client: httpx.AsyncClient,
        tokens: AppTokens,
    ) -> None:
        self.registry = registry
        self.pools = pools
        self.metrics = metrics
        self.config = config
        self.client = client
        self.tokens = tokens

    async def handle(
        self, owner: str, alias: str, path: str, request: Request
    ) -> Response:
        request_id = request.headers.get(REQUEST_ID_HEADER) or str(uuid.uuid4())
        started = time.monotonic()
        labels = (owner, alias)
        try:
            response = await self._run(owner, alias, "/" + path, request)
        except GatewayError as error:
            response = JSONResponse({"detail": error.detail}, error.status_code)
            if not error.known_app:
                labels = ("", "")
        response.headers[REQUEST_ID_HEADER] = request_id
        self.metrics.requests.labels(*labels, str(response.status_code)).inc()
        self.metrics.latency.labels(*labels).observe(time.monotonic() - started)
        return response

    async def _run(
        self, owner: str, alias: str, path: str, request: Request
    ) -> Response:
        if owner in RESERVED_OWNERS:
            raise GatewayError(
                404, f"Application '{owner}/{alias}' not found.", known_app=False
            )
        body = await _read_body(request, self.config.max_body_bytes)
        app = await self._resolve(owner, alias)
        await self._authorize(app, request)
        path, streamed = _runner_path(app, path)

        # The slot is held until the response body is done, so a stream
        # counts against max_multiplexing for as long as it lasts.
        app, pool, lease = await self._acquire(app)
        try:
            return await self._forward(
                app, lease.base_url, path, body, request, streamed,
                partial(pool.release, lease),
            )  # fmt: skip
        except BaseException:
            await pool.release(lease)
            raise

    async def _acquire(
        self, app: registry_pb2.ResolveApplicationResponse
    ) -> tuple[registry_pb2.ResolveApplicationResponse, RunnerPool, Lease]:
        """A runner slot of the app's current revision (waiting for one)."""
        owner, alias = app.owner, app.alias
        # A pool closes when its revision is replaced while we wait: try
        # once more with a fresh resolution.
        for attempt in range(2):
            pool = self.pools.pool_for(app)
            try:
                lease = await pool.acquire()
                if lease.cold_start:
                    self.metrics.cold_starts.inc()
                return app, pool, lease
            except PoolClosedError:
                if attempt:
                    raise GatewayError(
                        503, f"Application '{owner}/{alias}' is being replaced; retry."
                    ) from None
                self.registry.forget(owner, alias)
                app = await self._resolve(owner, alias)
            except SetupFailingError as error:
                raise GatewayError(
                    503,
                    f"Application '{owner}/{alias}' failed to start: {error}. "
                    f"Next start attempt in {error.retry_in:.0f} s.",
                ) from error
        raise AssertionError("unreachable")

    async def _resolve(
        self, owner: str, alias: str
    ) -> registry_pb2.ResolveApplicationResponse:
        try:
            return await self.registry.resolve(owner, alias)
        except AppNotFoundError as error:
            raise GatewayError(404, str(error), known_app=False) from error
        except RegistryUnavailableError as error:
            raise GatewayError(503, str(error)) from error

    async def _authorize(
        self, app: registry_pb2.ResolveApplicationResponse, request: HTTPConnection
    ) -> None:
        if app.auth_mode not in ("", "private"):
            return
        name = f"{app.owner}/{app.alias}"
        token = _app_token(request)
        if token is not None:
            self._check_token(token, app)
            return
        key = parse_key_header(request.headers.get("authorization", ""))
        if key is None:
            raise GatewayError(
                401,
                f"Application '{name}' is private: send the header "
                "'Authorization: Key <key_id>:<key_secret>', or an app token "
                f"in the query parameter '{TOKEN_QUERY_PARAMETER}'.",
            )
        identity = await self._identify(key, name)
        if identity.owner != app.owner:
            raise GatewayError(404, f"Application '{name}' not found.")

    def _check_token(
        self, token: str, app: registry_pb2.ResolveApplicationResponse
    ) -> None:
        name = f"{app.owner}/{app.alias}"
        try:
            claims = self.tokens.verify(token)
        except InvalidTokenError as error:
            raise GatewayError(401, f"The app token for '{name}': {error}") from error
        if not claims.allows(app.owner, app.alias):
            detail = f"The app token presented does not allow '{name}'."
            raise GatewayError(403, detail)

    async def _identify(self, key: tuple[str, str], name: str) -> Identity:
        try:
            return await self.registry.authenticate(*key)
        except InvalidKeyError as error:
            raise GatewayError(
                401, f"The key presented for '{name}' is invalid or was revoked."
            ) from error
        except RegistryUnavailableError as error:
            raise GatewayError(503, str(error)) from error

    async def issue_token(self, request: Request) -> Response:
        """``POST /tokens/``: an app token for apps of the key's owner."""
        try:
            key = parse_key_header(request.headers.get("authorization", ""))
            if key is None:
                raise GatewayError(
                    401,
                    "Issuing an app token needs the header "
                    "'Authorization: Key <key_id>:<key_secret>'.",
                )
            apps, seconds = _token_request(await _json_body(request))
            identity = await self._identify(key, "app tokens")
            allowed = [_qualified(identity.owner, app) for app in apps]
        except GatewayError as error:
            return JSONResponse({"detail": error.detail}, error.status_code)
        return JSONResponse(self.tokens.issue(identity.owner, allowed, seconds), 201)

    async def handle_websocket(
        self, owner: str, alias: str, path: str, websocket: WebSocket
    ) -> None:
        """Relay a websocket to a runner; errors are answered before upgrade."""
        try:
            app, pool, lease = await self._open_websocket(owner, alias, path, websocket)
        except GatewayError as error:
            response = JSONResponse({"detail": error.detail}, error.status_code)
            await websocket.send_denial_response(response)
            return
        # The slot is held for the whole session: the pool sees it as load.
        try:
            await self._relay(app, lease, "/" + path, websocket)
        finally:
            await pool.release(lease)

    async def _open_websocket(
        self, owner: str, alias: str, path: str, websocket: WebSocket
    ) -> tuple[registry_pb2.ResolveApplicationResponse, RunnerPool, Lease]:
        if owner in RESERVED_OWNERS:
            raise GatewayError(
                404, f"Application '{owner}/{alias}' not found.", known_app=False
            )
        app = await self._resolve(owner, alias)
        await self._authorize(app, websocket)
        _runner_path(app, "/" + path)
        return await self._acquire(app)

    async def _relay(
        self,
        app: registry_pb2.ResolveApplicationResponse,
        lease: Lease,
        path: str,
        websocket: WebSocket,
    ) -> None:
        try:
            runner = await self._connect_runner(lease, path, websocket)
        except GatewayError as error:
            response = JSONResponse({"detail": error.detail}, error.status_code)
            await websocket.send_denial_response(response)
            return
        async with runner:
            await websocket.accept(runner.subprotocol)
            await relay_websocket(websocket, runner)

    async def _connect_runner(
        self, lease: Lease, path: str, websocket: WebSocket
    ) -> ClientConnection:
        url = "ws" + lease.base_url.removeprefix("http") + path
        query = [
            (name, value)
            for name, value in websocket.query_params.multi_items()
            if name != TOKEN_QUERY_PARAMETER
        ]
        if query:
            url += "?" + urlencode(query)
        headers = {
            name: value
            for name, value in websocket.headers.items()
            if name.startswith("x-fal-")
        }
        headers.setdefault(REQUEST_ID_HEADER, str(uuid.uuid4()))
        subprotocols: Any = websocket.scope.get("subprotocols") or None
        try:
            return await websockets.connect(
                url,
                additional_headers=headers,
                subprotocols=subprotocols,
                compression=None,
                max_size=None,
                open_timeout=30,
            )
        except InvalidStatus as error:
            detail = error.response.body.decode(errors="replace") or "rejected"
            raise GatewayError(
                error.response.status_code,
                f"The runner refused the websocket: {detail}",
            ) from error
        except (OSError, TimeoutError) as error:
            raise GatewayError(
                503, f"The runner could not be reached for a websocket: {error}"
            ) from error

    async def _forward(
        self,
        app: registry_pb2.ResolveApplicationResponse,
        base_url: str,
        path: str,
        body: bytes,
        request: Request,
        streamed: bool,
        release: Any,
    ) -> Response:
        headers = {
            name: request.headers[name]
            for name in _FORWARDED_REQUEST_HEADERS
            if name in request.headers
        }
        for name, value in request.headers.items():
            if name.startswith("x-fal-"):
                headers[name] = value
        if streamed:
            headers["accept"] = EVENT_STREAM
        timeout = self.config.default_request_timeout
        if app.settings.HasField("request_timeout") and app.settings.request_timeout:
            timeout = float(app.settings.request_timeout)
        url = base_url + path
        query = [
            (name, value)
            for name, value in request.query_params.multi_items()
            if name != TOKEN_QUERY_PARAMETER
        ]
        if query:
            url += "?" + urlencode(query)
        try:
            outgoing = self.client.build_request(
                "POST", url, content=body, headers=headers, timeout=timeout
            )
            upstream = await self.client.send(outgoing, stream=True)
        except httpx.TimeoutException as error:
            raise GatewayError(
                504,
                f"Application '{app.owner}/{app.alias}' did not answer within "
                f"{timeout:g} s (request_timeout).",
            ) from error
        except httpx.TransportError as error:
            raise GatewayError(
                503,
                f"The runner of '{app.owner}/{app.alias}' went away while "
                f"handling the request: {type(error).__name__}.",
            ) from error
        response_headers = {
            name: value
            for name, value in upstream.headers.items()
            if name.lower() not in _DROPPED_RESPONSE_HEADERS
        }
        return UpstreamResponse(upstream, response_headers, release)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise GatewayError(413, _too_large(limit))
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise GatewayError(413, _too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


def _app_token(request: HTTPConnection) -> str | None:
    token = request.query_params.get(TOKEN_QUERY_PARAMETER)
    if token:
        return token
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as error:
        raise GatewayError(400, "The request body must be JSON.") from error


def _token_request(body: Any) -> tuple[list[str], int]:
    """``allowed_apps`` and ``token_expiration`` of a token request."""
    if not isinstance(body, dict):
        raise GatewayError(
            422, "Send a JSON object with 'allowed_apps' (a list of app names)."
        )
    apps = body.get("allowed_apps")
    names_ok = isinstance(apps, list) and all(
        isinstance(app, str) and app.strip("/") for app in apps
    )
    if not apps or not names_ok:
        raise GatewayError(
            422, f"'allowed_apps' must be a non-empty list of app names; got {apps!r}."
        )
    seconds = body.get("token_expiration", DEFAULT_TOKEN_SECONDS)
    if not isinstance(seconds, int) or not 0 < seconds <= MAX_TOKEN_SECONDS:
        raise GatewayError(
            422,
            f"'token_expiration' is {seconds!r}; use whole seconds from 1 to "
            f"{MAX_TOKEN_SECONDS}.",
        )
    return apps, seconds


def _qualified(owner: str, app: str) -> str:
    """``owner/alias`` of an allowed app named with or without its owner."""
    parts = app.strip("/").split("/")
    if len(parts) == 1:
        return f"{owner}/{parts[0]}"
    if parts[0] != owner:
        detail = f"A key of '{owner}' cannot issue a token for '{app}'."
        raise GatewayError(403, detail)
    return f"{owner}/{parts[1]}"


def _runner_path(
    app: registry_pb2.ResolveApplicationResponse, path: str
) -> tuple[str, bool]:
    """The runner path to call and whether the caller asked for a stream.

    ``.../stream`` is the endpoint's own path when the app declares it;
    otherwise it means "the endpoint before it, as server-sent events".
    """
    endpoints = list(app.endpoints)
    if not endpoints:
        return path, False  # unknown: let the runner answer
    known = {e.rstrip("/") or "/" for e in endpoints}
    normalized = path.rstrip("/") or "/"
    if normalized in known:
        return path, False
    if normalized.endswith(STREAM_SUFFIX):
        prefix = normalized.removesuffix(STREAM_SUFFIX) or "/"
        if prefix in known:
            return prefix, True
    raise GatewayError(
        404,
        f"Endpoint '{normalized}' not found in application "
        f"'{app.owner}/{app.alias}'. Its endpoints: {', '.join(endpoints)}.",
    )
