"""Bad input against a running platform: each gets a clear error, nothing is lost."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from fal_platform.testing import EXAMPLES, RunningPlatform

FAILING_SETUP = """
import fal


class Broken(fal.App, keep_alive=30):
    app_name = "broken-setup"
    app_auth = "public"

    def setup(self) -> None:
        raise RuntimeError("weights file is corrupt")

    @fal.endpoint("/")
    def run(self, value: int) -> dict:
        return {"value": value}
"""


@pytest.fixture(scope="module")
def hello_url(platform: RunningPlatform) -> str:
    deployed = platform.fal("deploy", str(EXAMPLES / "hello.py"), "--json")
    assert deployed.returncode == 0, deployed.stderr
    return str(json.loads(deployed.stdout)["urls"]["run"])


def _registered_names(platform: RunningPlatform) -> list[str]:
    listed = platform.fal("apps", "list", "--json", check=True)
    return [app["application_id"] for app in json.loads(listed.stdout)["applications"]]


@pytest.mark.parametrize(
    ("source", "ref_suffix", "expected"),
    [
        ("x = 1\n", "", "no fal.App"),
        ("import fal\n\nclass A(fal.App):\n    pass\n", "::Missing", "Missing"),
        ("def broken(:\n", "", "py:1: syntax error"),
    ],
    ids=["no-app", "unknown-class", "syntax-error"],
)
def test_deploy_of_bad_file_fails_with_one_line_and_registers_nothing(
    platform: RunningPlatform,
    tmp_path: Path,
    source: str,
    ref_suffix: str,
    expected: str,
) -> None:
    app_file = tmp_path / "bad_app.py"
    app_file.write_text(source)
    before = _registered_names(platform)

    result = platform.fal("deploy", f"{app_file}{ref_suffix}")

    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1, result.stderr
    assert "bad_app.py" in error_lines[0]
    assert expected.lower() in error_lines[0].lower()
    assert _registered_names(platform) == before


def test_deploy_of_missing_file_names_it(platform: RunningPlatform) -> None:
    result = platform.fal("deploy", "/nonexistent/app.py")
    assert result.returncode != 0
    assert "/nonexistent/app.py" in result.stderr


def test_unknown_app_is_404_naming_it(platform: RunningPlatform) -> None:
    url = f"{platform.endpoints.gateway_url}/local/no-such-app"
    response = httpx.post(url, json={}, timeout=30)
    assert response.status_code == 404
    assert "local/no-such-app" in response.json()["detail"]


def test_unknown_endpoint_is_404_naming_it(hello_url: str) -> None:
    response = httpx.post(f"{hello_url}/nope", json={}, timeout=120)
    assert response.status_code == 404
    assert "/nope" in response.json()["detail"]


def test_malformed_json_is_422_and_runner_keeps_serving(hello_url: str) -> None:
    response = httpx.post(
        hello_url,
        content=b'{"name": ',
        headers={"content-type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 422
    assert response.json()["detail"]
    assert httpx.post(hello_url, json={"name": "ok"}, timeout=60).status_code == 200


def test_body_failing_the_model_is_422_with_errors(hello_url: str) -> None:
    response = httpx.post(hello_url, json={"name": ["not", "a", "string"]}, timeout=120)
    assert response.status_code == 422
    assert any("name" in str(error.get("loc")) for error in response.json()["detail"])
    assert httpx.post(hello_url, json={"name": "ok"}, timeout=60).status_code == 200


def test_endpoint_that_raises_is_500_with_type_and_message(hello_url: str) -> None:
    response = httpx.post(f"{hello_url}/fail", json={"name": "Bob"}, timeout=120)
    assert response.status_code == 500
    body = response.json()
    assert body["error_type"] == "ValueError"
    assert "refusing to greet Bob" in body["detail"]
    assert httpx.post(hello_url, json={"name": "ok"}, timeout=60).status_code == 200


def test_setup_failure_names_app_and_exception_without_tight_retry(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    app_file = tmp_path / "broken.py"
    app_file.write_text(FAILING_SETUP)
    deployed = platform.fal("deploy", str(app_file), "--json")
    assert deployed.returncode == 0, deployed.stderr
    url = json.loads(deployed.stdout)["urls"]["run"]

    first = httpx.post(url, json={"value": 1}, timeout=120)
    assert first.status_code == 503
    detail = first.json()["detail"]
    assert "broken-setup" in detail
    assert "RuntimeError" in detail
    assert "weights file is corrupt" in detail

    # Within the failure delay the next request fails at once, with the same
    # error, and no new runner is started.
    runner_logs = platform.home / "logs" / "runners"
    started = len(list(runner_logs.glob("*.log")))
    began = time.monotonic()
    second = httpx.post(url, json={"value": 2}, timeout=120)
    assert second.status_code == 503
    assert "weights file is corrupt" in second.json()["detail"]
    assert time.monotonic() - began < 5
    assert len(list(runner_logs.glob("*.log"))) == started

    # The failure is in the scheduler's log too.
    scheduler_log = (platform.home / "logs" / "scheduler.log").read_text()
    assert "weights file is corrupt" in scheduler_log
