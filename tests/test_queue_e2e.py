"""The queue through the whole platform: deploy, submit, poll, cancel, CLI."""

from __future__ import annotations

import json
import time

import httpx
import pytest

import fal.apps
from fal.exceptions import AppClientError
from fal_platform.testing import EXAMPLES, RunningPlatform

SLOW_APP = """
import time

import fal


class Sleeper(fal.App, keep_alive=30, max_concurrency=1):
    app_name = "sleeper"
    app_auth = "private"

    @fal.endpoint("/")
    def sleep(self, seconds: float = 0.0) -> dict:
        print("sleeping", seconds, flush=True)
        time.sleep(seconds)
        return {"slept": seconds}
"""


def test_endpoints_and_deploy_name_the_queue_url(platform: RunningPlatform) -> None:
    endpoints = json.loads((platform.home / "endpoints.json").read_text())

    deployed = platform.fal("deploy", str(EXAMPLES / "hello.py"), "--json")

    assert endpoints["queue_url"] == endpoints["gateway_url"] + "/queue"
    assert deployed.returncode == 0, deployed.stderr
    urls = json.loads(deployed.stdout)["urls"]
    assert urls["queue"] == endpoints["queue_url"] + "/local/hello"


def test_submit_and_get_through_the_sdk(platform: RunningPlatform) -> None:
    platform.fal("deploy", str(EXAMPLES / "hello.py"), check=True)

    handle = fal.apps.submit("local/hello", {"name": "queue"})
    events = list(handle.iter_events(logs=True))
    result = handle.get()

    assert isinstance(events[-1], fal.apps.Completed)
    assert all(
        isinstance(e, fal.apps.Queued | fal.apps.InProgress | fal.apps.Completed)
        for e in events
    )
    assert result["message"] == "Hello, queue!"
    assert handle.fetch_result() == result


def test_failed_request_raises_with_the_apps_error(platform: RunningPlatform) -> None:
    platform.fal("deploy", str(EXAMPLES / "hello.py"), check=True)

    handle = fal.apps.submit("local/hello", {"name": "x"}, path="/fail")

    with pytest.raises(AppClientError) as raised:
        handle.get()
    assert raised.value.status_code == 500
    assert "refusing to greet x" in raised.value.message


def test_fal_client_style_urls_work_with_a_key(platform: RunningPlatform) -> None:
    app_file = platform.home / "sleeper.py"
    app_file.write_text(SLOW_APP)
    platform.fal("deploy", str(app_file), check=True)
    queue_url = json.loads((platform.home / "endpoints.json").read_text())["queue_url"]
    headers = {"Authorization": f"Key {platform.key}"}

    submitted = httpx.post(
        f"{queue_url}/local/sleeper", json={"seconds": 0.1}, headers=headers
    ).json()
    deadline = time.monotonic() + 120
    while True:
        state = httpx.get(submitted["status_url"], headers=headers).json()
        if state["status"] == "COMPLETED":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    result = httpx.get(submitted["response_url"], headers=headers)

    assert result.json() == {"slept": 0.1}
    assert httpx.get(submitted["status_url"]).status_code == 401


def test_queue_size_flush_and_cancel_from_cli_and_sdk(
    platform: RunningPlatform,
) -> None:
    # An app of its own: a redeploy would give the queue a second runner.
    app_file = platform.home / "flusher.py"
    app_file.write_text(SLOW_APP.replace('"sleeper"', '"flusher"'))
    platform.fal("deploy", str(app_file), check=True)
    busy = fal.apps.submit("local/flusher", {"seconds": 60})
    queued = [fal.apps.submit("local/flusher", {"seconds": 0}) for _ in range(3)]
    for event in busy.iter_events():
        if isinstance(event, fal.apps.InProgress):
            break

    size = platform.fal("queue", "size", "flusher", "--json")
    queued[0].cancel()
    flushed = platform.fal("queue", "flush", "flusher", "--json")

    assert size.returncode == 0, size.stderr
    assert json.loads(size.stdout)["size"] == 4
    assert flushed.returncode == 0, flushed.stderr
    assert json.loads(flushed.stdout)["cancelled"] == 2
    for handle in queued:
        with pytest.raises(AppClientError) as raised:
            handle.get()
        assert "cancelled" in raised.value.message
    busy.cancel()  # interrupts the running request; its runner is replaced
    with pytest.raises(AppClientError) as raised:
        busy.get()
    assert "cancelled" in raised.value.message
    with pytest.raises(AppClientError) as raised:
        busy.cancel()
    assert "COMPLETED" in raised.value.message
