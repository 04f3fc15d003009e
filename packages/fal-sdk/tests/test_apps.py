"""Calling apps over HTTP with fal.apps.run, against a small local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import fal.apps
from fal.exceptions import AppClientError, UnavailableError
from fal.sdk import FalServerlessKeyCredentials
from fal_platform.testing import free_port


class GatewayHandler(BaseHTTPRequestHandler):
    """Echoes the call back, or fails the way the gateway does."""

    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        self.calls.append(
            {"path": self.path, "body": body, "auth": self.headers.get("authorization")}
        )
        if self.path.endswith("/missing"):
            self._reply(404, {"detail": "Application 'local/missing' not found"})
        elif self.path.endswith("/crash"):
            self._reply(500, {"detail": "boom", "error_type": "ValueError"})
        else:
            self._reply(200, {"path": self.path, "received": body})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if status >= 500:
            self.send_header("x-fal-error-type", "ValueError")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    GatewayHandler.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), GatewayHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("FAL_RUN_URL", f"http://127.0.0.1:{server.server_port}/")
    yield GatewayHandler.calls
    server.shutdown()
    server.server_close()


def test_run_posts_json_and_returns_result(
    gateway: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", "id:secret")

    result = fal.apps.run("local/echo", {"text": "hi"}, path="/shout")

    assert result == {"path": "/local/echo/shout", "received": {"text": "hi"}}
    assert gateway[0]["auth"] == "Key id:secret"


def test_run_without_credentials_sends_no_key(gateway: list[dict[str, Any]]) -> None:
    result = fal.apps.run("local/echo", {"a": 1})

    assert result["path"] == "/local/echo"
    assert gateway[0]["auth"] is None


def test_run_with_explicit_credentials_uses_them(
    gateway: list[dict[str, Any]],
) -> None:
    credentials = FalServerlessKeyCredentials("other", "key")

    fal.apps.run("local/echo", {}, path="x", credentials=credentials)

    assert gateway[0]["path"] == "/local/echo/x"
    assert gateway[0]["auth"] == "Key other:key"


def test_run_not_found_raises_app_client_error_with_detail(
    gateway: list[dict[str, Any]],
) -> None:
    with pytest.raises(AppClientError) as caught:
        fal.apps.run("local/missing", {})

    assert caught.value.status_code == 404
    assert caught.value.message == "Application 'local/missing' not found"


def test_run_app_failure_raises_with_error_type_header(
    gateway: list[dict[str, Any]],
) -> None:
    with pytest.raises(AppClientError, match="boom") as caught:
        fal.apps.run("local/crash", {})

    assert caught.value.status_code == 500
    assert caught.value.headers["x-fal-error-type"] == "ValueError"


def test_run_unreachable_gateway_raises_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAL_RUN_URL", f"http://127.0.0.1:{free_port()}")

    with pytest.raises(UnavailableError, match="Could not reach"):
        fal.apps.run("local/echo", {})
