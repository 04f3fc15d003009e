"""``fal apps scale`` reaches the running scheduler without a redeploy."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from fal_platform.testing import RunningPlatform

SLOW_APP = """
import os
import time

import fal


class Slowpoke(fal.App, keep_alive=60, max_concurrency=1):
    app_name = "slowpoke"
    app_auth = "public"

    @fal.endpoint("/")
    def slow(self) -> dict:
        time.sleep(1.0)
        return {"pid": os.getpid()}
"""


def fal_json(platform: RunningPlatform, *args: str) -> Any:
    completed = platform.fal(*args, "--json")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def two_at_once(url: str) -> list[int]:
    """Send two requests together; the pids of the runners that served them."""
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda _: httpx.post(url, json={}, timeout=300), [0, 1])
        )
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    return [a.json()["pid"] for a in answers]


def runner_count(platform: RunningPlatform, count: int) -> int:
    """Ready runners of the app, polled until ``count`` or 30 s passed."""
    deadline = time.monotonic() + 30
    while True:
        runners = fal_json(platform, "apps", "runners", "slowpoke")["runners"]
        if len(runners) == count or time.monotonic() > deadline:
            return len(runners)
        time.sleep(0.2)


def test_scale_max_concurrency_applies_without_redeploy(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    app_file = tmp_path / "slowpoke.py"
    app_file.write_text(SLOW_APP)
    deployed = fal_json(platform, "deploy", str(app_file))
    url = deployed["urls"]["run"]

    capped = two_at_once(url)
    before = runner_count(platform, 1)
    scaled = platform.fal("apps", "scale", "slowpoke", "--max-concurrency", "2")
    widened = two_at_once(url)
    after = runner_count(platform, 2)
    revisions = fal_json(platform, "apps", "list-rev", "slowpoke")

    assert len(set(capped)) == 1  # max_concurrency 1: one runner, in turn
    assert before == 1
    assert scaled.returncode == 0, scaled.stderr
    # The second request of a pair started a second runner: the new maximum
    # reached the scheduler, and the first runner kept serving (no redeploy).
    assert after == 2
    assert capped[0] in widened
    assert all(pid != os.getpid() for pid in widened)
    assert len(revisions["revisions"]) == 1
