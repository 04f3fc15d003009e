"""The runner runtime end to end: a real `python -m fal._runtime` process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fal.api import serialize_app
from fal.utils import load_function_from
from fal_platform.testing import free_port

APP_SOURCE = """
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from pydantic import BaseModel

import fal


class Prompt(BaseModel):
    text: str
    repeat: int = 1


class Reply(BaseModel):
    text: str


def marker(name: str) -> Path:
    return Path(os.environ["FAL_TEST_MARKERS"]) / name


class Echo(fal.App, keep_alive=5):
    async def setup(self) -> None:
        await asyncio.sleep(0)
        self.prefix = "echo: "

    def handle_exit(self) -> None:
        marker("handle_exit").write_text(str(time.monotonic()))

    def teardown(self) -> None:
        marker("teardown").write_text(str(time.monotonic()))

    @fal.endpoint("/")
    def echo(self, prompt: Prompt) -> Reply:
        return Reply(text=self.prefix + prompt.text * prompt.repeat)

    @fal.endpoint("/add")
    async def add(self, a: int, b: int = 2) -> dict:
        request = self.current_request
        return {"sum": a + b, "request_id": request.request_id if request else None}

    @fal.endpoint("/fail")
    def fail(self) -> dict:
        raise KeyError("missing weights")

    @fal.endpoint("/slow")
    def slow(self, seconds: float) -> dict:
        time.sleep(seconds)
        return {"slept": seconds}
"""

FAILING_SETUP_SOURCE = """
import fal


class Broken(fal.App):
    def setup(self):
        raise RuntimeError("model weights not found")

    @fal.endpoint("/")
    def run(self) -> dict:
        return {}
"""


@dataclass
class Runner:
    process: subprocess.Popen[bytes]
    url: str
    status_file: Path
    markers: Path
    log_file: Path

    def wait_ready(self, timeout: float = 30.0) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runner exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("runner did not listen in time")


@pytest.fixture
def start_runner(
    tmp_path: Path, write_app: Callable[[str], Path]
) -> Iterator[Callable[..., Runner]]:
    runners: list[Runner] = []

    def start(source: str, *, extra_env: dict[str, str] | None = None) -> Runner:
        loaded = load_function_from(None, str(write_app(source)))
        payload = tmp_path / f"payload{len(runners)}"
        payload.write_bytes(serialize_app(loaded.function))
        markers = tmp_path / f"markers{len(runners)}"
        markers.mkdir()
        port = free_port()
        status_file = tmp_path / f"status{len(runners)}.json"
        environment = {**os.environ, "FAL_TEST_MARKERS": str(markers)}
        environment.update(extra_env or {})
        log_file = tmp_path / f"runner{len(runners)}.log"
        with log_file.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "fal._runtime",
                    "--payload", str(payload),
                    "--port", str(port),
                    "--status-file", str(status_file),
                ],
                env=environment,
                cwd=tmp_path,  # not the app's directory: the payload must suffice
                stderr=log,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        runner = Runner(process, url, status_file, markers, log_file)
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        if runner.process.poll() is None:
            runner.process.kill()
        runner.process.wait()


@pytest.fixture
def echo_runner(start_runner: Callable[..., Runner]) -> Runner:
    runner = start_runner(APP_SOURCE)
    runner.wait_ready()
    return runner


def test_post_model_endpoint_returns_model(echo_runner: Runner) -> None:
    response = httpx.post(f"{echo_runner.url}/", json={"text": "hi", "repeat": 2})

    assert response.status_code == 200
    assert response.json() == {"text": "echo: hihi"}


def test_post_plain_parameters_read_from_json_body(echo_runner: Runner) -> None:
    response = httpx.post(
        f"{echo_runner.url}/add", json={"a": 40}, headers={"x-fal-request-id": "req-1"}
    )

    assert response.status_code == 200
    assert response.json() == {"sum": 42, "request_id": "req-1"}


def test_post_malformed_json_returns_422_and_keeps_serving(echo_runner: Runner) -> None:
    response = httpx.post(
        f"{echo_runner.url}/add",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert httpx.post(f"{echo_runner.url}/add", json={"a": 1}).json()["sum"] == 3


def test_post_invalid_model_returns_422_and_keeps_serving(echo_runner: Runner) -> None:
    response = httpx.post(f"{echo_runner.url}/", json={"repeat": "many"})

    assert response.status_code == 422
    failed_fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "text") in failed_fields
    assert httpx.post(f"{echo_runner.url}/", json={"text": "x"}).status_code == 200


def test_post_raising_endpoint_returns_500_and_keeps_serving(
    echo_runner: Runner,
) -> None:
    response = httpx.post(f"{echo_runner.url}/fail")

    assert response.status_code == 500
    assert response.json() == {"detail": "'missing weights'", "error_type": "KeyError"}
    assert response.headers["x-fal-error-type"] == "KeyError"
    assert httpx.get(f"{echo_runner.url}/health").status_code == 200


def test_get_health_docs_and_openapi_answer(echo_runner: Runner) -> None:
    assert httpx.get(f"{echo_runner.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{echo_runner.url}/docs").status_code == 200
    document = httpx.get(f"{echo_runner.url}/openapi.json").json()
    assert set(document["paths"]) >= {"/", "/add", "/fail", "/health"}


def test_post_unknown_route_returns_404(echo_runner: Runner) -> None:
    assert httpx.post(f"{echo_runner.url}/nope", json={}).status_code == 404


def test_sigterm_finishes_in_flight_then_tears_down(echo_runner: Runner) -> None:
    results: list[httpx.Response] = []
    request = threading.Thread(
        target=lambda: results.append(
            httpx.post(f"{echo_runner.url}/slow", json={"seconds": 1.0}, timeout=10)
        )
    )
    request.start()
    time.sleep(0.3)

    echo_runner.process.send_signal(signal.SIGTERM)
    request.join(timeout=10)

    assert echo_runner.process.wait(timeout=15) == 0
    assert results[0].status_code == 200
    assert results[0].json() == {"slept": 1.0}
    handle_exit = float((echo_runner.markers / "handle_exit").read_text())
    teardown = float((echo_runner.markers / "teardown").read_text())
    assert handle_exit <= teardown


def test_setup_failure_writes_status_file_and_exits_3(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(FAILING_SETUP_SOURCE)

    assert runner.process.wait(timeout=30) == 3
    status = json.loads(runner.status_file.read_text())
    assert status["state"] == "setup_failed"
    assert status["error_type"] == "RuntimeError"
    assert status["message"] == "model weights not found"
    assert "Traceback" in status["traceback"]
    assert "model weights not found" in runner.log_file.read_text()


def test_parent_exit_stops_runner_with_teardown(
    start_runner: Callable[..., Runner],
) -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        runner = start_runner(APP_SOURCE, extra_env={"FAL_PARENT_PID": str(parent.pid)})
        runner.wait_ready()
    finally:
        parent.kill()
        parent.wait()

    assert runner.process.wait(timeout=15) == 0
    assert (runner.markers / "teardown").exists()
