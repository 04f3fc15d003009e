"""Management commands against a real registry (SQLite) on a free port.

The registry, a fake scheduler build responder and a fake runner control
responder run on an event loop of their own thread, so the synchronous
``fal`` commands can call them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import nats
import pytest

from fal.cli import main
from fal_platform.testing import NatsServer
from fal_registry import RegistryServer
from fal_registry.testing import FakeControl, FakeScheduler, make_settings

APP_SOURCE = """
import fal


class Echo(fal.App):
    app_name = "echo"

    @fal.endpoint("/")
    def echo(self, text: str) -> dict:
        return {"text": text}
"""


class BackgroundRegistry:
    """A registry and its fake scheduler, served from another thread."""

    def __init__(self, nats_url: str, home: Path) -> None:
        self.nats_url = nats_url
        self.home = home
        self.control = FakeControl()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = RegistryServer(
            make_settings(f"sqlite:///{home / 'registry.db'}", nats_url, home)
        )

    def run(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=60)

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        await self.server.start()
        self.client = await nats.connect(self.nats_url)
        scheduler = FakeScheduler(self.client)
        await self.client.subscribe("fal.scheduler.build", cb=scheduler.handle)
        await self.client.subscribe("fal.scheduler.control", cb=self.control.handle)
        await self.client.flush()

    def stop(self) -> None:
        async def _stop() -> None:
            await self.client.close()
            await self.server.stop()

        self.run(_stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def registry(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BackgroundRegistry]:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("FAL_CONFIG_PATH", str(config))
    for name in ("FAL_PROFILE", "FAL_GRPC_HOST", "FAL_RUN_URL", "FAL_ENV"):
        monkeypatch.delenv(name, raising=False)
    background = BackgroundRegistry(nats_server.url, tmp_path / "home")
    background.start()
    monkeypatch.setenv("FAL_HOST", background.server.address)
    monkeypatch.setenv("FAL_KEY", (tmp_path / "home" / "admin_key").read_text().strip())
    try:
        yield background
    finally:
        background.stop()


def fal(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def fal_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = fal(capsys, *args)
    assert code == 0, err
    return json.loads(out)


def deploy(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> str:
    app_file = tmp_path / "echo_app.py"
    app_file.write_text(APP_SOURCE)
    return fal_json(capsys, "deploy", str(app_file), "--json", *args)["revision"]


def test_apps_revisions_set_rev_and_delete_rev(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = deploy(capsys, tmp_path)
    second = deploy(capsys, tmp_path)

    listed = fal_json(capsys, "apps", "list-rev", "echo", "--json")
    assert [r["revision"] for r in listed["revisions"]] == [second, first]
    assert listed["revisions"][0]["aliases"] == ["echo"]

    moved = fal_json(capsys, "--json", "apps", "set-rev", "echo", first)
    assert moved["alias"]["revision"] == first
    assert fal_json(capsys, "apps", "delete-rev", second, "--json") == {
        "revision": second,
        "deleted": True,
    }
    code, _, err = fal(capsys, "apps", "delete-rev", first)
    assert code == 1 and first in err

    code, out, _ = fal(capsys, "apps", "list-rev", "echo")
    assert code == 0 and "rolling" in out


def test_apps_scale_list_rollout_runners_delete(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deploy(capsys, tmp_path)
    registry.control.runners = [
        {"runner_id": "r1", "owner": "local", "alias": "echo", "revision": "x",
         "state": "IDLE", "in_flight_requests": 0, "uptime_seconds": 3.0,
         "machine_type": "S"},
    ]  # fmt: skip

    scaled = fal_json(
        capsys, "apps", "scale", "echo", "--keep-alive", "120",
        "--max-concurrency", "5", "--valid-regions", "eu,us", "--json",
    )  # fmt: skip
    assert scaled["alias"]["keep_alive"] == 120
    assert scaled["alias"]["valid_regions"] == ["eu", "us"]
    apps = fal_json(capsys, "apps", "list", "--json")["applications"]
    assert [(a["application_id"], a["max_concurrency"]) for a in apps] == [("echo", 5)]
    assert apps[0]["active_runners"] == 1
    runners = fal_json(capsys, "apps", "runners", "echo", "--json")["runners"]
    assert [(r["runner_id"], r["state"], r["uptime"]) for r in runners] == [
        ("r1", "IDLE", 3.0)
    ]
    assert fal_json(capsys, "apps", "rollout", "echo", "--force", "--json") == {
        "app_name": "echo",
        "rolled_out": True,
    }
    code, out, _ = fal(capsys, "apps", "list")
    assert code == 0 and "echo" in out

    assert fal(capsys, "apps", "delete", "echo")[0] == 0
    assert fal_json(capsys, "apps", "list", "--json") == {"applications": []}


def test_apps_scale_without_options_is_refused(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = fal(capsys, "apps", "scale", "echo")

    assert code == 1 and "Nothing to change" in err


def test_apps_unknown_app_names_it(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["list-rev", "ghost"], ["rollout", "ghost"], ["delete", "ghost"]):
        code, _, err = fal(capsys, "apps", *command)
        assert code == 1 and "'ghost'" in err


def test_runners_list_stop_kill(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.control.runners = [
        {"runner_id": "r1", "owner": "local", "alias": "echo", "revision": "x",
         "state": "RUNNING", "in_flight_requests": 1, "uptime_seconds": 9.0,
         "machine_type": "S"},
    ]  # fmt: skip

    listed = fal_json(capsys, "runners", "list", "--json")["runners"]
    assert [r["runner_id"] for r in listed] == ["r1"]
    code, out, _ = fal(capsys, "runners", "list")
    assert code == 0 and "r1" in out
    assert fal_json(capsys, "runners", "stop", "r1", "--replace-first", "--json") == {
        "runner_id": "r1",
        "stopped": True,
    }
    assert fal(capsys, "runners", "kill", "r1")[0] == 0
    assert registry.control.requests[-2]["replace_first"] is True
    code, _, err = fal(capsys, "runners", "kill", "ghost")
    assert code == 1 and "'ghost'" in err
    code, _, err = fal(capsys, "runners", "list", "--since", "yesterday")
    assert code == 1 and "'yesterday'" in err


def test_runners_list_shows_starting_states_machine_and_replacement(
    registry: BackgroundRegistry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fal.cli._console import output

    monkeypatch.setattr(output, "_width", 160)  # room for every column
    registry.control.runners = [
        {"runner_id": "pending-x-0", "owner": "local", "alias": "echo",
         "revision": "x", "state": "PENDING", "machine_type": "GPU-H100"},
        {"runner_id": "r2", "owner": "local", "alias": "echo", "revision": "x",
         "state": "SETUP", "uptime_seconds": 3.0, "machine_type": "GPU-H100"},
        {"runner_id": "r1", "owner": "local", "alias": "echo", "revision": "x",
         "state": "IDLE", "uptime_seconds": 90.0, "machine_type": "GPU-H100",
         "replacement": "WILL_REPLACE"},
    ]  # fmt: skip

    listed = fal_json(capsys, "runners", "list", "--json")["runners"]
    code, out, _ = fal(capsys, "runners", "list")

    assert [(r["state"], r["machine_type"], r["replacement"]) for r in listed] == [
        ("PENDING", "GPU-H100", "NO_REPLACE"),
        ("SETUP", "GPU-H100", "NO_REPLACE"),
        ("IDLE", "GPU-H100", "WILL_REPLACE"),
    ]
    assert code == 0
    for text in ("PENDING", "SETUP", "GPU-H100", "WILL_REPLACE", "90s"):
        assert text in out


def test_secrets_set_list_unset_never_show_values(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    value = "value-that-must-stay-hidden"
    code, out, err = fal(capsys, "secrets", "set", f"TOKEN={value}", "OTHER=x=y")
    assert code == 0 and value not in out + err

    listed = fal_json(capsys, "secrets", "list", "--json")["secrets"]
    assert [s["name"] for s in listed] == ["OTHER", "TOKEN"]
    code, out, err = fal(capsys, "secrets", "list")
    assert code == 0 and "TOKEN" in out and value not in out + err
    assert value not in json.dumps(listed)

    assert fal_json(capsys, "secrets", "unset", "TOKEN", "--json") == {
        "unset": ["TOKEN"]
    }
    listed = fal_json(capsys, "secrets", "list", "--json")["secrets"]
    assert [s["name"] for s in listed] == ["OTHER"]


def test_secrets_set_without_value_sets_nothing(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = fal(capsys, "secrets", "set", "GOOD=1", "BAD")

    assert code == 1 and "'BAD'" in err
    assert fal_json(capsys, "secrets", "list", "--json") == {"secrets": []}


def test_secrets_in_environment_with_global_env(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = fal(capsys, "--env", "staging", "secrets", "set", "A=1")
    assert code == 1 and "'staging'" in err

    assert fal(capsys, "environments", "create", "staging")[0] == 0
    assert fal(capsys, "--env", "staging", "secrets", "set", "A=1")[0] == 0
    staging = fal_json(capsys, "secrets", "list", "--env", "staging", "--json")
    assert [s["environment_name"] for s in staging["secrets"]] == ["staging"]
    assert fal_json(capsys, "secrets", "list", "--json") == {"secrets": []}


def test_keys_create_list_revoke(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    created = fal_json(
        capsys, "keys", "create", "--scope", "API", "--desc", "ci", "--json"
    )
    assert created["scope"] == "API" and created["key_secret"]

    listed = fal_json(capsys, "keys", "list", "--json")["keys"]
    ours = [key for key in listed if key["key_id"] == created["key_id"]]
    assert ours == [
        {
            "key_id": created["key_id"],
            "created_at": ours[0]["created_at"],
            "scope": "API",
            "alias": "ci",
        }
    ]
    code, out, _ = fal(capsys, "keys", "list")
    assert code == 0 and created["key_secret"] not in out

    assert fal(capsys, "keys", "revoke", created["key_id"])[0] == 0
    code, _, err = fal(capsys, "keys", "revoke", created["key_id"])
    assert code == 1 and created["key_id"] in err


def test_api_key_cannot_manage_keys(
    registry: BackgroundRegistry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = fal_json(capsys, "keys", "create", "--scope", "API", "--json")
    monkeypatch.setenv("FAL_KEY", f"{created['key_id']}:{created['key_secret']}")

    code, _, err = fal(capsys, "keys", "list")

    assert code == 1 and "scope API" in err


def test_environments_list_create_delete(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    created = fal_json(
        capsys, "environments", "create", "staging", "--description", "pre", "--json"
    )
    assert created["environment"]["name"] == "staging"

    listed = fal_json(capsys, "environments", "list", "--json")["environments"]
    assert [(e["name"], e["is_default"]) for e in listed] == [
        ("main", True),
        ("staging", False),
    ]
    code, _, err = fal(capsys, "environments", "delete", "main")
    assert code == 1 and "'main'" in err
    assert fal(capsys, "environments", "delete", "staging")[0] == 0
    code, out, _ = fal(capsys, "environments", "list")
    assert code == 0 and "staging" not in out


def test_auth_login_whoami_logout(
    registry: BackgroundRegistry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = registry.home.joinpath("admin_key").read_text().strip()
    monkeypatch.delenv("FAL_KEY")

    code, _, err = fal(capsys, "auth", "login", "--key", "bad:key")
    assert code == 1 and "not valid" in err
    logged_in = fal_json(capsys, "auth", "login", "--key", key, "--json")
    assert logged_in["owner"] == "local" and logged_in["profile"] == "default"

    who = fal_json(capsys, "auth", "whoami", "--json")
    assert who == {
        "owner": "local",
        "key_id": key.partition(":")[0],
        "scope": "ADMIN",
    }
    assert fal(capsys, "auth", "logout")[0] == 0
    code, _, err = fal(capsys, "auth", "whoami")
    assert code == 1 and "No API key found" in err


def test_profile_create_unset_delete(
    registry: BackgroundRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fal(capsys, "profile", "create", "lab", "--host", "10.0.0.1:7081")[0] == 0
    code, _, err = fal(capsys, "profile", "create", "lab")
    assert code == 1 and "'lab'" in err
    assert fal(capsys, "profile", "set", "lab")[0] == 0
    profiles = fal_json(capsys, "profile", "list", "--json")["profiles"]
    assert [(p["name"], p["current"], p["host"]) for p in profiles] == [
        ("lab", True, "10.0.0.1:7081")
    ]

    assert fal(capsys, "profile", "unset")[0] == 0
    profiles = fal_json(capsys, "profile", "list", "--json")["profiles"]
    assert [p["current"] for p in profiles] == [False]
    assert fal(capsys, "profile", "delete", "lab")[0] == 0
    assert fal_json(capsys, "profile", "list", "--json") == {"profiles": []}
    code, _, err = fal(capsys, "profile", "delete", "lab")
    assert code == 1 and "'lab'" in err


def test_runners_list_and_apps_runners_render_every_state(
    registry: BackgroundRegistry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from fal.cli._console import output

    monkeypatch.setattr(output, "_width", 160)  # room for every column
    deploy(capsys, tmp_path)
    states = ["PENDING", "SETUP", "IDLE", "RUNNING", "DRAINING", "TERMINATING",
              "TERMINATED", "FAILURE_DELAY"]  # fmt: skip
    registry.control.runners = [
        {"runner_id": f"r-{state.lower()}", "owner": "local", "alias": "echo",
         "revision": "x", "state": state}
        for state in states
    ]  # fmt: skip

    listed = fal_json(capsys, "runners", "list", "--json")["runners"]
    code, table, _ = fal(capsys, "runners", "list")
    app_code, app_table, _ = fal(capsys, "apps", "runners", "echo")

    assert [r["state"] for r in listed] == states
    assert (code, app_code) == (0, 0)
    for state in states:
        assert state in table and state in app_table
