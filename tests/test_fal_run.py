"""``fal run``: an app that lives exactly as long as the command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
import pytest

from fal_platform.testing import EXAMPLES, RunningPlatform


def _registered(platform: RunningPlatform) -> list[str]:
    listed = platform.fal("apps", "list", "--json", check=True)
    return [app["application_id"] for app in json.loads(listed.stdout)["applications"]]


def _first_url(process: subprocess.Popen[str], timeout: float = 120) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip().startswith("POST "):
            return line.split()[1]
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"fal run printed no URL (exit {process.poll()})")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_fal_run_serves_until_signal_then_deletes_app(
    platform: RunningPlatform, stop_signal: signal.Signals
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "fal.cli", "run", str(EXAMPLES / "hello.py")],
        env=platform.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _first_url(process)
        app_name = url.rstrip("/").rsplit("/", 1)[1]
        assert app_name.startswith("hello-run-")
        assert app_name in _registered(platform)

        answer = httpx.post(url, json={"name": "ephemeral"}, timeout=120)
        assert answer.status_code == 200
        assert answer.json()["message"] == "Hello, ephemeral!"
    finally:
        process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert app_name not in _registered(platform)
    assert httpx.post(url, json={}, timeout=30).status_code == 404
