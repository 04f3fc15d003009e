"""The walking skeleton, end to end: up, deploy, call, redeploy, delete, down."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from fal_platform.testing import EXAMPLES, processes_mentioning, start_platform

CHANGED_HELLO = """
import fal
from pydantic import BaseModel


class Greeting(BaseModel):
    name: str = "world"


class Hello(fal.App, keep_alive=30):
    app_name = "hello"
    app_auth = "public"

    @fal.endpoint("/")
    def greet(self, greeting: Greeting) -> dict:
        return {"message": f"Howdy, {greeting.name}!", "calls": 0}
"""


def test_deploy_call_redeploy_delete_and_stop_leaves_nothing(tmp_path: Path) -> None:
    running = start_platform(tmp_path / "home")
    try:
        # Deploy the dependency-free example and call its sync URL.
        deployed = running.fal("deploy", str(EXAMPLES / "hello.py"), "--json")
        assert deployed.returncode == 0, deployed.stderr
        result = json.loads(deployed.stdout)
        assert result["app_name"] == "hello"
        assert result["owner"] == running.endpoints.owner
        run_url = result["urls"]["run"]
        assert run_url == f"{running.endpoints.gateway_url}/local/hello"

        first = httpx.post(run_url, json={"name": "platform"}, timeout=120)
        assert first.status_code == 200, first.text
        assert first.json() == {"message": "Hello, platform!", "calls": 1}
        assert first.headers["x-fal-request-id"]

        # The same runner answers the next call: setup() ran once.
        import fal.apps

        again = fal.apps.run("local/hello", {"name": "sdk"})
        assert again == {"message": "Hello, sdk!", "calls": 2}

        # A redeploy makes a new revision whose code answers from then on.
        changed = tmp_path / "hello_changed.py"
        changed.write_text(CHANGED_HELLO)
        redeployed = running.fal("deploy", f"{changed}::Hello", "--json")
        assert redeployed.returncode == 0, redeployed.stderr
        assert json.loads(redeployed.stdout)["revision"] != result["revision"]
        assert _eventually_json(run_url, {"name": "again"})["message"] == (
            "Howdy, again!"
        )

        listed = running.fal("apps", "list", "--json", check=True)
        names = [
            app["application_id"] for app in json.loads(listed.stdout)["applications"]
        ]
        assert names == ["hello"]

        # Deleting the app makes its URL unknown.
        assert running.fal("apps", "delete", "hello").returncode == 0
        gone = httpx.post(run_url, json={}, timeout=30)
        assert gone.status_code == 404
        assert "local/hello" in gone.json()["detail"]
    finally:
        running.platform.stop()

    assert processes_mentioning(str(tmp_path / "home")) == []


def _eventually_json(url: str, body: dict[str, str], timeout: float = 60) -> dict:
    """POST until the answer changes from the old revision's (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.post(url, json=body, timeout=120)
        assert response.status_code == 200, response.text
        data = response.json()
        if data["message"].startswith("Howdy") or time.monotonic() > deadline:
            return data
        time.sleep(0.5)
