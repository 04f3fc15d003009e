"""fal's queue HTTP API on the gateway, under the ``/queue`` prefix.

``queue_url`` of the platform is ``{gateway}/queue``; fal clients reach it
with ``FAL_QUEUE_RUN_HOST=<host:port>/queue`` (they prepend ``https://``)
or, from the SDK, through the profile. Routes (``{app}`` is
``{owner}/{alias}``):

- ``POST /queue/{app}[/{path}][?fal_webhook=URL]``: accept a request;
  answers ``request_id``, ``status_url``, ``response_url``, ``cancel_url``.
- ``GET /queue/{app}/requests/{id}/status[?logs=1]`` and ``.../status/stream``
  (server-sent events until ``COMPLETED``).
- ``GET /queue/{app}/requests/{id}``: the result, with the runner's status
  code and content type. ``PUT /queue/{app}/requests/{id}/cancel``.
- ``GET /queue/{app}/size`` and ``DELETE /queue/{app}/requests`` (the
  owner's key only): what ``fal queue size|flush`` use.

Headers in: ``X-Fal-Request-Timeout``, ``X-Fal-Queue-Priority``,
``X-Fal-Runner-Hint``, ``X-Fal-No-Retry``. Returned URLs follow
``X-Forwarded-Proto`` / ``X-Forwarded-Host`` so a TLS front works.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from fal_proto import registry_pb2
from fal_scheduler.errors import (
    AppNotFoundError,
    InvalidKeyError,
    QueueError,
    RegistryUnavailableError,
)
from fal_scheduler.queue import (
    COMPLETED,
    IN_QUEUE,
    PRIORITIES,
    RequestQueue,
    Submission,
)
from fal_scheduler.registry import RegistryClient, parse_key_header

__all__ = ["QUEUE_PREFIX", "create_queue_router"]

QUEUE_PREFIX = "/queue"
REQUEST_ID_HEADER = "x-fal-request-id"
_FORWARDED_HEADERS = ("content-type", "accept")
_STREAM_POLL = 0.2
_STREAM_KEEPALIVE = 15.0
_TRUE = ("1", "true", "yes")


class _HttpError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def create_queue_router(
    registry: RegistryClient, queue: RequestQueue, max_body_bytes: int
) -> APIRouter:
    """The queue routes; include them in the gateway before its catch-alls."""
    router = APIRouter(prefix=QUEUE_PREFIX)
    access = _Access(registry)

    @router.get("/{owner}/{alias}/requests/{request_id}/status")
    async def status(owner: str, alias: str, request_id: str, request: Request) -> Any:
        async def answer() -> Response:
            record = await _owned_record(
                queue, access, owner, alias, request_id, request
            )
            logs = request.query_params.get("logs", "").lower() in _TRUE
            body = _status_body(queue, record, request, logs)
            return JSONResponse(body, 200 if record["status"] == COMPLETED else 202)

        return await _answer(answer, request_id)

    @router.get("/{owner}/{alias}/requests/{request_id}/status/stream")
    async def status_stream(
        owner: str, alias: str, request_id: str, request: Request
    ) -> Any:
        async def answer() -> Response:
            await _owned_record(queue, access, owner, alias, request_id, request)
            logs = request.query_params.get("logs", "").lower() in _TRUE
            events = _status_events(queue, request_id, request, logs)
            return StreamingResponse(events, media_type="text/event-stream")

        return await _answer(answer, request_id)

    @router.get("/{owner}/{alias}/requests/{request_id}")
    async def result(owner: str, alias: str, request_id: str, request: Request) -> Any:
        async def answer() -> Response:
            record = await _owned_record(
                queue, access, owner, alias, request_id, request
            )
            if record["status"] != COMPLETED:
                raise _HttpError(
                    400,
                    f"Request '{request_id}' is {record['status']}; its result is "
                    "not ready. Poll its status_url until COMPLETED.",
                )
            response = record.get("response") or {}
            return Response(
                await queue.result_body(record),
                status_code=int(response.get("status_code", 500)),
                headers=dict(response.get("headers") or {}),
            )

        return await _answer(answer, request_id)

    @router.put("/{owner}/{alias}/requests/{request_id}/cancel")
    async def cancel(owner: str, alias: str, request_id: str, request: Request) -> Any:
        async def answer() -> Response:
            await _owned_record(queue, access, owner, alias, request_id, request)
            await queue.cancel(request_id)
            return JSONResponse({"status": "CANCELLATION_REQUESTED"}, 202)

        return await _answer(answer, request_id)

    @router.get("/{owner}/{alias}/size")
    async def size(owner: str, alias: str, request: Request) -> Any:
        async def answer() -> Response:
            await access.require_owner(owner, request)
            return JSONResponse({"size": await queue.size(owner, alias)})

        return await _answer(answer)

    @router.delete("/{owner}/{alias}/requests")
    async def flush(owner: str, alias: str, request: Request) -> Any:
        async def answer() -> Response:
            await access.require_owner(owner, request)
            return JSONResponse({"cancelled": await queue.flush(owner, alias)})

        return await _answer(answer)

    @router.post("/{owner}/{alias}")
    async def submit_root(owner: str, alias: str, request: Request) -> Any:
        return await _submit(queue, access, owner, alias, "", request, max_body_bytes)

    @router.post("/{owner}/{alias}/{path:path}")
    async def submit_path(owner: str, alias: str, path: str, request: Request) -> Any:
        return await _submit(queue, access, owner, alias, path, request, max_body_bytes)

    return router


async def _answer(handler: Any, request_id: str | None = None) -> Response:
    try:
        response: Response = await handler()
    except _HttpError as error:
        response = JSONResponse({"detail": error.detail}, error.status_code)
    except QueueError as error:
        response = JSONResponse({"detail": str(error)}, error.status_code)
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


async def _submit(
    queue: RequestQueue,
    access: _Access,
    owner: str,
    alias: str,
    path: str,
    request: Request,
    max_body_bytes: int,
) -> Response:
    async def answer() -> Response:
        body = await _read_body(request, max_body_bytes)
        app = await access.resolve(owner, alias)
        await access.authorize(app, request)
        _check_endpoint(app, "/" + path)
        submission = _submission(owner, alias, "/" + path, request, body)
        record = await queue.submit(submission)
        payload = {
            "status": IN_QUEUE,
            **_urls(request, owner, alias, record["request_id"]),
            "queue_position": queue.queue_position(record),
        }
        response = JSONResponse(payload)
        response.headers[REQUEST_ID_HEADER] = record["request_id"]
        return response

    return await _answer(answer)


def _submission(
    owner: str, alias: str, path: str, request: Request, body: bytes
) -> Submission:
    headers = {
        k: request.headers[k] for k in _FORWARDED_HEADERS if k in request.headers
    }
    for name, value in request.headers.items():
        if name.startswith("x-fal-") and name != REQUEST_ID_HEADER:
            headers[name] = value
    query = "&".join(
        f"{k}={v}" for k, v in request.query_params.multi_items() if k != "fal_webhook"
    )
    return Submission(
        owner=owner,
        alias=alias,
        path=path,
        query=query,
        headers=headers,
        body=body,
        priority=_priority(request.headers.get("x-fal-queue-priority")),
        start_timeout=_start_timeout(request.headers.get("x-fal-request-timeout")),
        no_retry=request.headers.get("x-fal-no-retry", "").lower() in _TRUE,
        runner_hint=request.headers.get("x-fal-runner-hint") or None,
        webhook_url=_webhook(request.query_params.get("fal_webhook")),
    )


def _priority(value: str | None) -> str:
    if value is None or value == "":
        return "normal"
    if value.lower() not in PRIORITIES:
        raise _HttpError(
            400,
            f"X-Fal-Queue-Priority {value!r} is not valid; use 'normal' or 'low'.",
        )
    return value.lower()


def _start_timeout(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 1:
        raise _HttpError(
            400,
            f"X-Fal-Request-Timeout {value!r} is not valid; send the seconds the "
            "request may wait to start, a number above 1.",
        )
    return seconds


def _webhook(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _HttpError(
            400, f"fal_webhook {value!r} is not an http:// or https:// URL."
        )
    return value


def _urls(request: Request, owner: str, alias: str, request_id: str) -> dict[str, str]:
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = (
        request.headers.get("x-forwarded-host")
        or request.headers.get("host")
        or request.url.netloc
    )
    base = f"{proto}://{host}{QUEUE_PREFIX}/{owner}/{alias}/requests/{request_id}"
    return {
        "request_id": request_id,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
    }


def _status_body(
    queue: RequestQueue, record: dict[str, Any], request: Request, logs: bool
) -> dict[str, Any]:
    status = record["status"]
    body: dict[str, Any] = {
        "status": status,
        **_urls(request, record["owner"], record["alias"], record["request_id"]),
        "logs": None,
    }
    if status == IN_QUEUE:
        body["queue_position"] = queue.queue_position(record)
    elif status == COMPLETED:
        body["metrics"] = record.get("metrics") or {}
        if logs:
            body["logs"] = record.get("logs") or []
        if record.get("error"):
            body["error"] = record["error"]
            body["error_type"] = record.get("error_type")
    elif logs:
        body["logs"] = queue.live_logs(record["request_id"]) or []
    return body


async def _status_events(
    queue: RequestQueue, request_id: str, request: Request, logs: bool
) -> AsyncIterator[bytes]:
    last: str | None = None
    last_sent = time.monotonic()
    while True:
        record = await queue.record(request_id)
        body = _status_body(queue, record, request, logs)
        encoded = json.dumps(body)
        if encoded != last:
            yield f"data: {encoded}\n\n".encode()
            last, last_sent = encoded, time.monotonic()
        elif time.monotonic() - last_sent >= _STREAM_KEEPALIVE:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        if record["status"] == COMPLETED:
            return
        await asyncio.sleep(_STREAM_POLL)


async def _owned_record(
    queue: RequestQueue,
    access: _Access,
    owner: str,
    alias: str,
    request_id: str,
    request: Request,
) -> dict[str, Any]:
    try:
        app = await access.resolve(owner, alias)
    except _HttpError as error:
        if error.status_code != 404:
            raise
        await access.require_owner(owner, request)  # app deleted, results kept
    else:
        await access.authorize(app, request)
    record = await queue.record(request_id)
    if (record["owner"], record["alias"]) != (owner, alias):
        raise _HttpError(404, f"Request '{request_id}' not found.")
    return record


class _Access:
    """Who may use an app's queue: its auth mode and the caller's key."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry

    async def resolve(
        self, owner: str, alias: str
    ) -> registry_pb2.ResolveApplicationResponse:
        try:
            return await self.registry.resolve(owner, alias)
        except AppNotFoundError as error:
            raise _HttpError(404, str(error)) from error
        except RegistryUnavailableError as error:
            raise _HttpError(503, str(error)) from error

    async def authorize(
        self, app: registry_pb2.ResolveApplicationResponse, request: Request
    ) -> None:
        if app.auth_mode not in ("", "private"):
            return
        await self.require_owner(app.owner, request, f"{app.owner}/{app.alias}")

    async def require_owner(
        self, owner: str, request: Request, name: str | None = None
    ) -> None:
        subject = f"Application '{name}'" if name else f"The queue of '{owner}'"
        key = parse_key_header(request.headers.get("authorization", ""))
        if key is None:
            raise _HttpError(
                401,
                f"{subject} is private: send the header "
                "'Authorization: Key <key_id>:<key_secret>'.",
            )
        try:
            identity = await self.registry.authenticate(*key)
        except InvalidKeyError as error:
            raise _HttpError(
                401, "The key presented is invalid or was revoked."
            ) from error
        except RegistryUnavailableError as error:
            raise _HttpError(503, str(error)) from error
        if identity.owner != owner:
            raise _HttpError(404, f"{subject} was not found.")


async def _read_body(request: Request, limit: int) -> bytes:
    message = f"The request body is larger than the limit of {limit} bytes."
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _HttpError(413, message)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _HttpError(413, message)
        chunks.append(chunk)
    return b"".join(chunks)


def _check_endpoint(app: registry_pb2.ResolveApplicationResponse, path: str) -> None:
    endpoints = list(app.endpoints)
    normalized = path.rstrip("/") or "/"
    if not endpoints or normalized in {e.rstrip("/") or "/" for e in endpoints}:
        return
    raise _HttpError(
        404,
        f"Endpoint '{normalized}' not found in application "
        f"'{app.owner}/{app.alias}'. Its endpoints: {', '.join(endpoints)}.",
    )
