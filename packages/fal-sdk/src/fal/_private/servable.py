"""What can be served over HTTP: Apps, and plain functions wrapped as one.

``BaseServable`` is the serving surface ``App`` builds on: a mapping of
``RouteSignature`` to handler (``collect_routes``), the FastAPI application
built from it and its OpenAPI document. ``ServeWrapper`` makes a plain
function servable as a single ``POST /`` route whose JSON object body
becomes its keyword arguments. ``FalServer`` is the uvicorn server that
serves one; ``FalFastAPI`` the FastAPI class it is built on.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from fal._private.base_servable import BaseServable

if TYPE_CHECKING:
    from fal._private.app import RouteSignature

__all__ = ["BaseServable", "FalFastAPI", "FalServer", "ServeWrapper", "SpawnInfo"]


class FalFastAPI(FastAPI):
    """A FastAPI whose OpenAPI document lists paths and schemas sorted.

    The document is then the same whatever order the routes were added in,
    so two builds of one app compare equal.
    """

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema:
            return self.openapi_schema
        document = super().openapi()
        document["paths"] = dict(sorted(document.get("paths", {}).items()))
        components = document.get("components") or {}
        if "schemas" in components:
            components["schemas"] = dict(sorted(components["schemas"].items()))
        self.openapi_schema = document
        return document


class ServeWrapper(BaseServable):
    """Serves ``func`` at ``POST /``: the JSON object body is its kwargs."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def collect_routes(self) -> dict[RouteSignature, Callable[..., Any]]:
        from fal._private.app import RouteSignature

        func = self.func

        async def call(request: Request) -> Any:
            body = await request.json() if await request.body() else {}
            if not isinstance(body, dict):
                raise HTTPException(
                    422,
                    f"{func.__name__} takes keyword arguments: send a JSON "
                    f"object, not {type(body).__name__}.",
                )
            try:
                return await run_in_threadpool(func, **body)
            except TypeError as error:
                raise HTTPException(422, f"{func.__name__}: {error}") from error

        call.__name__ = func.__name__
        return {RouteSignature("/"): call}


class FalServer(uvicorn.Server):
    """A uvicorn server for a servable (or any ASGI app).

    Ctrl-C or SIGTERM stops it without raising the signal again afterwards,
    so the caller's cleanup runs; off the main thread it installs no
    signal handlers (stop it with ``should_exit = True``).
    """

    def __init__(
        self,
        servable: BaseServable | Any,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        log_level: str = "warning",
    ) -> None:
        app = servable.build_app() if isinstance(servable, BaseServable) else servable
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level)
        super().__init__(config)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stop_signals = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in stop_signals}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


@dataclass(frozen=True)
class SpawnInfo:
    """Where a served function or app started: its URL and its name."""

    url: str
    application: str | None = None
