"""Call deployed apps over the gateway's HTTP API."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from fal._private.credentials import Credentials, get_credentials
from fal._private.settings import get_run_url
from fal.exceptions import (
    AppClientError,
    AppStreamError,
    MissingCredentialsError,
    UnavailableError,
)

DEFAULT_TIMEOUT_SECONDS = 300.0


def run(
    app_id: str,
    arguments: dict[str, Any],
    *,
    path: str = "",
    credentials: Credentials | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Call ``app_id`` (``owner/app``) synchronously and return its JSON.

    Without ``credentials`` the configured key is sent when there is one;
    public apps need none.
    """
    url = app_url(app_id, path)
    headers = _auth_headers(credentials)
    try:
        response = httpx.post(url, json=arguments, headers=headers, timeout=timeout)
    except httpx.TransportError as error:
        raise UnavailableError(
            f"Could not reach {url}: {error}", "UNAVAILABLE"
        ) from error
    raise_for_status(response)
    result: dict[str, Any] = response.json()
    return result


def stream(
    app_id: str,
    arguments: dict[str, Any],
    *,
    path: str = "",
    credentials: Credentials | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Iterator[str | bytes]:
    """Call a streaming endpoint of ``app_id`` and yield each event's data.

    ``path`` is the endpoint's path; without one the app's ``/stream`` URL
    is used. An ``error`` event from the app raises AppStreamError.
    """
    url = app_url(app_id, path or "/stream")
    headers = {**_auth_headers(credentials), "accept": "text/event-stream"}
    try:
        with httpx.stream(
            "POST", url, json=arguments, headers=headers, timeout=timeout
        ) as response:
            if not response.is_success:
                response.read()
                raise_for_status(response)
            yield from _event_data(response.iter_lines())
    except httpx.TransportError as error:
        raise UnavailableError(
            f"Could not reach {url}: {error}", "UNAVAILABLE"
        ) from error


def _event_data(lines: Iterator[str]) -> Iterator[str]:
    """The data of each server-sent event; raise on an ``error`` event."""
    event, data = "", []
    for line in lines:
        if line:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value
            continue
        if data:
            _raise_for_error_event(event, data)
            yield "\n".join(data)
        event, data = "", []
    if data:
        _raise_for_error_event(event, data)
        yield "\n".join(data)


def _raise_for_error_event(event: str, data: list[str]) -> None:
    if event != "error":
        return
    text = "\n".join(data)
    try:
        body = json.loads(text)
        detail, error_type = body.get("detail", text), body.get("error_type")
    except (ValueError, AttributeError):
        detail, error_type = text, None
    raise AppStreamError(
        message=str(detail),
        status_code=200,
        headers={},
        error_type=None if error_type is None else str(error_type),
    )


class WebSocketConnection:
    """An open websocket to an app endpoint (frames as str or bytes)."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    def send(self, message: str | bytes) -> None:
        self._connection.send(message)

    def recv(self, timeout: float | None = None) -> str | bytes:
        return self._connection.recv(timeout)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._connection.close(code, reason)

    def __iter__(self) -> Iterator[str | bytes]:
        return iter(self._connection)

    @property
    def close_code(self) -> int | None:
        return self._connection.close_code

    @property
    def close_reason(self) -> str | None:
        return self._connection.close_reason


@contextlib.contextmanager
def ws(
    app_id: str,
    *,
    path: str = "",
    credentials: Credentials | None = None,
    open_timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Iterator[WebSocketConnection]:
    """Open a websocket to an endpoint of ``app_id``; closed on exit."""
    url = websocket_url(app_url(app_id, path))
    headers = _auth_headers(credentials)
    try:
        connection = connect(url, additional_headers=headers, open_timeout=open_timeout)
    except InvalidStatus as error:
        raise AppClientError(
            message=_detail_of_rejection(error),
            status_code=error.response.status_code,
            headers=dict(error.response.headers.raw_items()),
        ) from error
    except (OSError, TimeoutError) as error:
        raise UnavailableError(
            f"Could not reach {url}: {error}", "UNAVAILABLE"
        ) from error
    with connection:
        yield WebSocketConnection(connection)


def websocket_url(url: str) -> str:
    """``url`` with its http(s) scheme swapped for ws(s)."""
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    return url


def _detail_of_rejection(error: InvalidStatus) -> str:
    body = error.response.body or b""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode(errors="replace") or f"HTTP {error.response.status_code}"
    if isinstance(parsed, dict) and isinstance(parsed.get("detail"), str):
        return str(parsed["detail"])
    return json.dumps(parsed)


def app_url(app_id: str, path: str = "") -> str:
    """The run URL of ``app_id`` and one of its endpoint paths."""
    if path and not path.startswith("/"):
        path = f"/{path}"
    return f"{get_run_url()}/{app_id.strip('/')}{path}"


def raise_for_status(response: httpx.Response) -> None:
    """Raise AppClientError with the server's detail for an error status."""
    if response.is_success:
        return
    raise AppClientError(
        message=_detail(response),
        status_code=response.status_code,
        headers=dict(response.headers),
    )


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else json.dumps(detail)
    return json.dumps(body)


def _auth_headers(credentials: Credentials | None) -> dict[str, str]:
    if credentials is not None:
        return credentials.to_headers()
    try:
        return get_credentials().to_headers()
    except MissingCredentialsError:
        return {}
