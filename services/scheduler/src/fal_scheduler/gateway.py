"""The HTTP gateway: ``POST /{owner}/{alias}[/{path}]`` to a runner.

The gateway authenticates the caller by the app's auth mode, picks a slot
from the revision's runner pool (waiting for a runner to start if needed)
and forwards the body to the runner. The runner's status code, body and
content type come back unchanged, with ``x-fal-request-id``.

Known shortcoming: the runner's response is buffered whole before it is
returned, so streaming endpoints (server-sent events) arrive at once at the
end, and websockets are not routed at all.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fal_proto import registry_pb2
from fal_scheduler.errors import (
    AppNotFoundError,
    InvalidKeyError,
    PoolClosedError,
    RegistryUnavailableError,
    SetupFailingError,
)
from fal_scheduler.metrics import SchedulerMetrics
from fal_scheduler.pools import RunnerPools
from fal_scheduler.registry import RegistryClient

__all__ = ["RESERVED_OWNERS", "GatewayConfig", "GatewayError", "create_gateway"]

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-fal-request-id"
# First path segments that belong to the platform, never to an owner.
RESERVED_OWNERS = frozenset(
    {"health", "metrics", "queue", "requests", "docs", "openapi.json", "ws"}
)
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


def create_gateway(
    registry: RegistryClient,
    pools: RunnerPools,
    metrics: SchedulerMetrics,
    config: GatewayConfig | None = None,
) -> FastAPI:
    """The gateway's ASGI app; the caller owns the lifecycle of its parts."""
    config = config or GatewayConfig()
    client = httpx.AsyncClient(timeout=None)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    forwarder = _Forwarder(registry, pools, metrics, config, client)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(
            generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    @app.post("/{owner}/{alias}")
    async def run_root(owner: str, alias: str, request: Request) -> Response:
        return await forwarder.handle(owner, alias, "", request)

    @app.post("/{owner}/{alias}/{path:path}")
    async def run_path(owner: str, alias: str, path: str, request: Request) -> Response:
        return await forwarder.handle(owner, alias, path, request)

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
    ) -> None:
        self.registry = registry
        self.pools = pools
        self.metrics = metrics
        self.config = config
        self.client = client

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
        _check_endpoint(app, path)

        # A pool closes when its revision is replaced while we wait: try
        # once more with a fresh resolution.
        for attempt in range(2):
            pool = self.pools.pool_for(app)
            try:
                async with pool.lease() as lease:
                    if lease.cold_start:
                        self.metrics.cold_starts.inc()
                    return await self._forward(app, lease.base_url, path, body, request)
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
        self, app: registry_pb2.ResolveApplicationResponse, request: Request
    ) -> None:
        if app.auth_mode not in ("", "private"):
            return
        name = f"{app.owner}/{app.alias}"
        key = _parse_key(request.headers.get("authorization", ""))
        if key is None:
            raise GatewayError(
                401,
                f"Application '{name}' is private: send the header "
                "'Authorization: Key <key_id>:<key_secret>'.",
            )
        try:
            identity = await self.registry.authenticate(*key)
        except InvalidKeyError as error:
            raise GatewayError(
                401, f"The key presented for '{name}' is invalid or was revoked."
            ) from error
        except RegistryUnavailableError as error:
            raise GatewayError(503, str(error)) from error
        if identity.owner != app.owner:
            raise GatewayError(404, f"Application '{name}' not found.")

    async def _forward(
        self,
        app: registry_pb2.ResolveApplicationResponse,
        base_url: str,
        path: str,
        body: bytes,
        request: Request,
    ) -> Response:
        headers = {
            name: request.headers[name]
            for name in _FORWARDED_REQUEST_HEADERS
            if name in request.headers
        }
        for name, value in request.headers.items():
            if name.startswith("x-fal-"):
                headers[name] = value
        timeout = self.config.default_request_timeout
        if app.settings.HasField("request_timeout") and app.settings.request_timeout:
            timeout = float(app.settings.request_timeout)
        url = base_url + path
        if request.url.query:
            url += "?" + request.url.query
        try:
            upstream = await self.client.post(
                url, content=body, headers=headers, timeout=timeout
            )
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
        return Response(
            content=upstream.content,
            status_code=upstream.status_code,
            headers=response_headers,
        )


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


def _parse_key(header: str) -> tuple[str, str] | None:
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "key":
        return None
    key_id, sep, key_secret = credentials.strip().partition(":")
    if not sep or not key_id or not key_secret:
        return None
    return key_id, key_secret


def _check_endpoint(app: registry_pb2.ResolveApplicationResponse, path: str) -> None:
    endpoints = list(app.endpoints)
    if not endpoints:
        return  # unknown: let the runner answer
    normalized = path.rstrip("/") or "/"
    if normalized in {e.rstrip("/") or "/" for e in endpoints}:
        return
    raise GatewayError(
        404,
        f"Endpoint '{normalized}' not found in application "
        f"'{app.owner}/{app.alias}'. Its endpoints: {', '.join(endpoints)}.",
    )
