"""The control plane against a whole platform: secrets reach runners, keys
guard private apps, runners are listed and killed, nothing secret is logged."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import httpx

from fal_platform.testing import RunningPlatform

SECRET_APP = """
import os

import fal


class Secretive(fal.App, keep_alive=60):
    app_name = "secretive"
    app_auth = "private"

    @fal.endpoint("/")
    def reveal(self) -> dict:
        return {"token_length": len(os.environ.get("E2E_TOKEN", ""))}
"""

SECRET_VALUE = "e2e-secret-value-0123456789"


def fal_json(platform: RunningPlatform, *args: str) -> Any:
    completed = platform.fal(*args, "--json")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def wait_for_runners(platform: RunningPlatform, count: int) -> list[dict]:
    deadline = time.monotonic() + 30
    while True:
        runners = fal_json(platform, "runners", "list")["runners"]
        if len(runners) == count or time.monotonic() > deadline:
            return runners
        time.sleep(0.2)


def test_secrets_keys_and_runners_end_to_end(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    key_file = platform.home / "secrets_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # A secret set before the deploy is in the runner's environment.
    assert platform.fal("secrets", "set", f"E2E_TOKEN={SECRET_VALUE}").returncode == 0
    app_file = tmp_path / "secretive.py"
    app_file.write_text(SECRET_APP)
    deployed = fal_json(platform, "deploy", str(app_file))
    url = deployed["urls"]["run"]

    # An API key may call the private app; without it, or revoked, 401.
    created = fal_json(platform, "keys", "create", "--scope", "API")
    api_key = f"{created['key_id']}:{created['key_secret']}"
    answer = httpx.post(
        url, json={}, headers={"Authorization": f"Key {api_key}"}, timeout=300
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"token_length": len(SECRET_VALUE)}
    assert httpx.post(url, json={}, timeout=30).status_code == 401

    # The scheduler's live runners, through the registry.
    [runner] = wait_for_runners(platform, 1)
    assert (runner["alias"], runner["state"]) == ("secretive", "IDLE")
    by_app = fal_json(platform, "apps", "runners", "secretive")["runners"]
    assert [r["runner_id"] for r in by_app] == [runner["runner_id"]]
    assert platform.fal("runners", "kill", runner["runner_id"]).returncode == 0
    assert wait_for_runners(platform, 0) == []

    assert platform.fal("keys", "revoke", created["key_id"]).returncode == 0
    revoked = httpx.post(
        url, json={}, headers={"Authorization": f"Key {api_key}"}, timeout=60
    )
    assert revoked.status_code == 401

    # Neither the secret nor a key secret is in any service or runner log.
    logs = "\n".join(
        path.read_text(errors="replace")
        for path in (platform.home / "logs").rglob("*.log")
    )
    listed = platform.fal("secrets", "list").stdout
    for secret in (SECRET_VALUE, created["key_secret"], platform.key.split(":")[1]):
        assert secret not in logs
        assert secret not in listed
