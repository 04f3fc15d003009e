"""Runner output through the whole platform: request ids and startup timeouts."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

import fal.apps
from fal_platform.testing import RunningPlatform, processes_mentioning

MULTIPLEXED_APP = """
import time

import fal


class Chatty(fal.App, keep_alive=30, max_concurrency=1, max_multiplexing=2):
    app_name = "chatty"

    @fal.endpoint("/")
    def talk(self, tag: str) -> dict:
        print("started", tag, flush=True)
        time.sleep(1.0)
        print("finished", tag, flush=True)
        return {"tag": tag}
"""

NEVER_READY_APP = """
import time

import fal


class Sluggish(fal.App, startup_timeout=3, keep_alive=5):
    app_name = "sluggish"

    def setup(self) -> None:
        print("sluggish setup begins", flush=True)
        time.sleep(60)

    @fal.endpoint("/")
    def run(self) -> dict:
        return {}
"""


def _status(platform: RunningPlatform, app: str, request_id: str) -> dict[str, Any]:
    queue_url = json.loads((platform.home / "endpoints.json").read_text())["queue_url"]
    response = httpx.get(
        f"{queue_url}/local/{app}/requests/{request_id}/status?logs=1",
        headers={"Authorization": f"Key {platform.key}"},
    )
    status: dict[str, Any] = response.json()
    return status


def _runner_ids_started(platform: RunningPlatform) -> list[str]:
    logs = (platform.home / "logs" / "runners").glob("*.log")
    return [path.stem for path in logs if "sluggish setup" in path.read_text()]


def _runner_pids(platform: RunningPlatform) -> list[int]:
    """Live runners of the sluggish app (its runner ids name their status files)."""
    runner_ids = _runner_ids_started(platform)
    return [pid for runner in runner_ids for pid in processes_mentioning(runner)]


def test_multiplexed_requests_see_only_their_own_logs(
    platform: RunningPlatform,
) -> None:
    app_file = platform.home / "chatty.py"
    app_file.write_text(MULTIPLEXED_APP)
    platform.fal("deploy", str(app_file), check=True)

    handles = [fal.apps.submit("local/chatty", {"tag": tag}) for tag in "ab"]
    results = [handle.get() for handle in handles]
    statuses = [_status(platform, "chatty", h.request_id) for h in handles]

    assert results == [{"tag": "a"}, {"tag": "b"}]
    for tag, status in zip("ab", statuses, strict=True):
        messages = [line["message"] for line in status["logs"]]
        assert messages == [f"started {tag}", f"finished {tag}"], messages
    runner_logs = list((platform.home / "logs" / "runners").glob("*.log"))
    lines = [
        json.loads(line)
        for path in runner_logs
        for line in path.read_text().splitlines()
        if line.startswith("{")
    ]
    tagged = {line["request_id"] for line in lines if "started" in line["message"]}
    assert tagged == {handle.request_id for handle in handles}


def test_runner_that_never_gets_ready_fails_requests_naming_the_app(
    platform: RunningPlatform,
) -> None:
    app_file = platform.home / "sluggish.py"
    app_file.write_text(NEVER_READY_APP)
    platform.fal("deploy", str(app_file), check=True)
    gateway_url = json.loads((platform.home / "endpoints.json").read_text())[
        "gateway_url"
    ]
    queued = fal.apps.submit("local/sluggish", {})
    sync: dict[str, httpx.Response] = {}

    def call() -> None:
        sync["response"] = httpx.post(
            f"{gateway_url}/local/sluggish",
            json={},
            headers={"Authorization": f"Key {platform.key}"},
            timeout=120,
        )

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(120)
    deadline = time.monotonic() + 120
    while _status(platform, "sluggish", queued.request_id)["status"] != "COMPLETED":
        assert time.monotonic() < deadline, "queued request never completed"
        time.sleep(0.2)
    queued_status = _status(platform, "sluggish", queued.request_id)

    response = sync["response"]
    assert response.status_code >= 500, response.text
    assert "local/sluggish" in response.text, response.text
    assert "startup_timeout" in response.text, response.text
    assert "local/sluggish" in (queued_status.get("error") or ""), queued_status
    assert "startup_timeout" in (queued_status.get("error") or ""), queued_status
    deadline = time.monotonic() + 30
    assert _runner_ids_started(platform), "no runner was started"
    while _runner_pids(platform):
        assert time.monotonic() < deadline, "the runner was not killed"
        time.sleep(0.2)


def _runner_of(platform: RunningPlatform, text: str) -> str:
    logs = (platform.home / "logs" / "runners").glob("*.log")
    (runner_id,) = [path.stem for path in logs if text in path.read_text()]
    return runner_id


def test_runner_logs_show_lines_with_their_request_id(
    platform: RunningPlatform,
) -> None:
    app_file = platform.home / "printer.py"
    app_file.write_text(MULTIPLEXED_APP.replace('"chatty"', '"printer"'))
    platform.fal("deploy", str(app_file), check=True)
    gateway_url = json.loads((platform.home / "endpoints.json").read_text())[
        "gateway_url"
    ]
    response = httpx.post(
        f"{gateway_url}/local/printer",
        json={"tag": "zebra"},
        headers={
            "Authorization": f"Key {platform.key}",
            "x-fal-request-id": "req-zebra-1",
        },
        timeout=120,
    )
    runner_id = _runner_of(platform, "started zebra")

    shown = platform.fal("runners", "logs", runner_id)
    as_json = platform.fal("runners", "logs", runner_id, "--json")
    recent = platform.fal("runners", "logs", runner_id, "--since", "10m", "--json")
    future = platform.fal(
        "runners", "logs", runner_id, "--since", "2999-01-01T00:00:00+00:00"
    )

    assert response.status_code == 200, response.text
    assert shown.returncode == 0, shown.stderr
    assert "[req-zebra-1] started zebra" in shown.stdout
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    started = [line for line in lines if line["message"] == "started zebra"]
    assert started[0]["request_id"] == "req-zebra-1"
    assert started[0]["source"] == "stdout"
    assert "started zebra" in recent.stdout
    assert future.returncode == 0, future.stderr
    assert "zebra" not in future.stdout


def test_runner_logs_of_unknown_runner_fail_clearly(platform: RunningPlatform) -> None:
    shown = platform.fal("runners", "logs", "no-such-runner")
    bad_since = platform.fal("runners", "logs", "no-such-runner", "--since", "soon")

    assert shown.returncode != 0
    assert "no-such-runner" in shown.stderr
    assert bad_since.returncode != 0
    assert "--since 'soon'" in bad_since.stderr
