"""Call deployed apps through the platform's durable queue."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from fal._private.config import Config
from fal._private.credentials import Credentials
from fal._private.http import _auth_headers, raise_for_status
from fal._private.settings import get_run_url
from fal.exceptions import AppClientError, UnavailableError

__all__ = [
    "Completed",
    "InProgress",
    "Queued",
    "RequestHandle",
    "get_queue_url",
    "submit",
]

_TIMEOUT_SECONDS = 60.0


def get_queue_url(config: Config | None = None) -> str:
    """The queue API's base URL, without a trailing slash.

    ``FAL_QUEUE_RUN_URL`` (full URL), ``https://$FAL_QUEUE_RUN_HOST``, the
    profile's ``queue_url``, then the run URL's ``/queue``.
    """
    if os.environ.get("FAL_QUEUE_RUN_URL"):
        return os.environ["FAL_QUEUE_RUN_URL"].rstrip("/")
    if os.environ.get("FAL_QUEUE_RUN_HOST"):
        return f"https://{os.environ['FAL_QUEUE_RUN_HOST']}".rstrip("/")
    config = config or Config()
    configured = config.get("queue_url")
    if configured:
        return configured.rstrip("/")
    return f"{get_run_url(config)}/queue"


class _Status:
    """A queued request's state, as ``RequestHandle.status`` reports it."""


@dataclass
class Queued(_Status):
    """Waiting for a runner; ``position`` requests are ahead of it."""

    position: int


@dataclass
class InProgress(_Status):
    """Running; ``logs`` are its output so far when asked for."""

    logs: list[dict[str, Any]] | None


@dataclass
class Completed(_Status):
    """Finished (successfully or not); fetch the result to know which."""

    logs: list[dict[str, Any]] | None


@dataclass
class RequestHandle:
    """A request submitted to an app's queue."""

    app_id: str
    request_id: str
    _client: httpx.Client = field(
        default_factory=lambda: httpx.Client(timeout=_TIMEOUT_SECONDS), repr=False
    )
    _creds: Credentials | None = field(default=None, repr=False)

    @property
    def _base(self) -> str:
        return f"{get_queue_url()}/{_app_root(self.app_id)}/requests/{self.request_id}"

    def status(self, *, logs: bool = False) -> _Status:
        """Ask once where the request stands."""
        params = {"logs": "1"} if logs else {}
        response = self._call("GET", f"{self._base}/status", params=params)
        return _parse_status(response.json())

    def iter_events(
        self, *, logs: bool = False, __poll_delay: float = 0.2
    ) -> Iterator[_Status]:
        """Yield the request's status until it is ``Completed`` (included)."""
        while True:
            status = self.status(logs=logs)
            yield status
            if isinstance(status, Completed):
                return
            time.sleep(__poll_delay)

    def fetch_raw_response(self) -> httpx.Response:
        """The stored answer as it came from the app, error statuses included."""
        return self._send("GET", self._base)

    def fetch_result(self) -> dict[str, Any]:
        """The result; raises AppClientError if the request failed or is pending."""
        response = self.fetch_raw_response()
        raise_for_status(response)
        result: dict[str, Any] = response.json()
        return result

    def get(self) -> dict[str, Any]:
        """Wait until the request completes and return its result."""
        for _ in self.iter_events():
            pass
        return self.fetch_result()

    def cancel(self) -> None:
        """Cancel the request if queued, interrupt it if running."""
        self._call("PUT", f"{self._base}/cancel")

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self._send(method, url, **kwargs)
        raise_for_status(response)
        return response

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = _auth_headers(self._creds)
        try:
            return self._client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as error:
            raise UnavailableError(
                f"Could not reach {url}: {error}", "UNAVAILABLE"
            ) from error


def submit(
    app_id: str,
    arguments: dict[str, Any],
    *,
    path: str = "",
    credentials: Credentials | None = None,
    webhook_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> RequestHandle:
    """Queue a call of ``app_id`` (``owner/app``) and return its handle."""
    if path and not path.startswith("/"):
        path = f"/{path}"
    url = f"{get_queue_url()}/{app_id.strip('/')}{path}"
    params = {"fal_webhook": webhook_url} if webhook_url else {}
    request_headers = {**_auth_headers(credentials), **(headers or {})}
    client = httpx.Client(timeout=_TIMEOUT_SECONDS)
    try:
        response = client.post(
            url, json=arguments, headers=request_headers, params=params
        )
    except httpx.TransportError as error:
        client.close()
        raise UnavailableError(
            f"Could not reach {url}: {error}", "UNAVAILABLE"
        ) from error
    raise_for_status(response)
    return RequestHandle(app_id, response.json()["request_id"], client, credentials)


def _app_root(app_id: str) -> str:
    """``owner/app`` of an app id that may carry an endpoint path."""
    return "/".join(app_id.strip("/").split("/")[:2])


def _parse_status(body: dict[str, Any]) -> _Status:
    state = body.get("status")
    if state == "IN_QUEUE":
        return Queued(position=int(body.get("queue_position") or 0))
    if state == "IN_PROGRESS":
        return InProgress(logs=body.get("logs"))
    if state == "COMPLETED":
        return Completed(logs=body.get("logs"))
    raise AppClientError(
        message=f"The queue answered an unknown status {state!r}.", status_code=502
    )
