"""Fixtures: a real filestore process and a small HTTP file server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from fal_platform.testing import free_port

ENVIRONMENT = (
    "FAL_FILESTORE_URL",
    "FAL_KEY",
    "FAL_APP_OWNER",
    "FAL_PERSISTENT_DIR",
    "FAL_ALLOW_PRIVATE_DOWNLOADS",
)


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAL_CONFIG_PATH", str(tmp_path / "config.toml"))
    monkeypatch.setenv("FAL_PERSISTENT_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def filestore_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    root = tmp_path_factory.mktemp("filestore")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fal_filestore",
            "--port",
            str(port),
            "--root",
            str(root),
        ]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def with_filestore(filestore_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FAL_FILESTORE_URL", filestore_url)
    return filestore_url


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:
        status, content_type, body = self.routes.get(
            self.path, (404, "text/plain", b"missing")
        )
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def file_server() -> Iterator[tuple[str, dict[str, tuple[int, str, bytes]]]]:
    """An HTTP server on 127.0.0.1 answering from a routes table."""
    routes: dict[str, tuple[int, str, bytes]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
