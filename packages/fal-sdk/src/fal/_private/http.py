"""Call deployed apps over the gateway's HTTP API."""

from __future__ import annotations

import json
from typing import Any

import httpx

from fal._private.credentials import Credentials, get_credentials
from fal._private.settings import get_run_url
from fal.exceptions import AppClientError, MissingCredentialsError, UnavailableError

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
