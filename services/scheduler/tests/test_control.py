"""Runner control over NATS and secrets in runners: real NATS, real runners."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from scheduler_helpers import OWNER_KEY, FakeRegistry, ThisInterpreter, stand_in_app

from fal_platform.testing import NatsServer
from fal_proto import registry_pb2
from fal_scheduler.service import Scheduler


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Client]:
    connection = await nats.connect(nats_server.url)
    try:
        yield connection
    finally:
        await connection.close()


async def control(client: Client, **request: Any) -> dict[str, Any]:
    reply = await client.request(
        "fal.scheduler.control", json.dumps(request).encode(), timeout=10
    )
    return json.loads(reply.data)


async def wait_until(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(predicate())


def runners_of(scheduler: Scheduler) -> list[Any]:
    return [r for pool in scheduler.pools.pools().values() for r in pool.runners]


def app_with_secrets(**secrets: str) -> registry_pb2.ResolveApplicationResponse:
    app = stand_in_app()
    for name, value in secrets.items():
        app.secrets.add(name=name, value=value)
    return app


async def test_runner_gets_secrets_as_environment_never_logged(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    value = "secret-value-for-the-runner"
    fake_registry[0].apps[("local", "echo")] = app_with_secrets(
        API_TOKEN=value, FAL_RUNNER_ID="must-not-win"
    )

    response = await gateway.post("/local/echo", json={})

    assert response.status_code == 200
    runner = runners_of(scheduler)[0]
    environ = Path(f"/proc/{runner.handle.process.pid}/environ").read_bytes()
    variables = dict(
        item.split("=", 1) for item in environ.decode().split("\0") if "=" in item
    )
    assert variables["API_TOKEN"] == value
    assert variables["FAL_RUNNER_ID"] == runner.handle.runner_id
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert value not in logged
    assert "API_TOKEN" not in repr(runner.handle)


async def test_control_lists_runners_of_the_owner_only(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(keep_alive=60)
    assert (await gateway.post("/local/echo", json={})).status_code == 200

    answer = await control(client, action="list", owner="local")
    other = await control(client, action="list", owner="other")
    filtered = await control(client, action="list", owner="local", alias="nope")

    assert answer["ok"] is True
    [runner] = answer["runners"]
    assert (runner["alias"], runner["revision"], runner["state"]) == (
        "echo",
        "rev1",
        "IDLE",
    )
    assert runner["runner_id"] == runners_of(scheduler)[0].handle.runner_id
    assert 0 < runner["expiration_countdown"] <= 60
    assert other["runners"] == [] and filtered["runners"] == []


async def test_control_kill_stops_runner_and_unknown_is_not_found(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(keep_alive=60)
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    runner_id = runners_of(scheduler)[0].handle.runner_id

    foreign = await control(client, action="kill", owner="other", runner_id=runner_id)
    assert foreign["ok"] is False and foreign["error"] == "not_found"
    answer = await control(client, action="kill", owner="local", runner_id=runner_id)

    assert answer == {"ok": True}
    assert await wait_until(lambda: runners_of(scheduler) == [])
    missing = await control(client, action="stop", owner="local", runner_id="nope")
    assert missing["error"] == "not_found" and "'nope'" in missing["message"]


async def test_control_logs_page_by_offset_for_the_owner_only(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(keep_alive=60)
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    runner_id = runners_of(scheduler)[0].handle.runner_id

    first = await control(client, action="logs", owner="local", runner_id=runner_id)
    again = await control(
        client,
        action="logs",
        owner="local",
        runner_id=runner_id,
        offset=first["next_offset"],
    )
    foreign = await control(client, action="logs", owner="other", runner_id=runner_id)
    missing = await control(client, action="logs", owner="local", runner_id="nope")

    assert first["ok"] is True
    # The stand-in runtime prints plain text: kept as untagged lines.
    assert {"message": "setup", "request_id": None}.items() <= first["lines"][0].items()
    assert first["next_offset"] > 0
    assert again == {"ok": True, "lines": [], "next_offset": first["next_offset"]}
    assert foreign["ok"] is False and foreign["error"] == "not_found"
    assert missing["error"] == "not_found" and "'nope'" in missing["message"]


async def test_control_rollout_retires_pools_and_next_request_starts_fresh(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(keep_alive=60)
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    before = runners_of(scheduler)[0].handle.runner_id

    answer = await control(
        client, action="rollout", owner="local", alias="echo", force=False
    )

    assert answer == {"ok": True, "runners": 1}
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    after = [r.handle.runner_id for r in runners_of(scheduler)]
    assert after and before not in after


async def test_control_bad_request_is_refused(
    scheduler: Scheduler, client: Client
) -> None:
    answer = await control(client, action="explode", owner="local")

    assert answer["ok"] is False and "'explode'" in answer["message"]


async def test_key_revoked_event_drops_cached_authentication(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(auth_mode="private")
    headers = {"Authorization": f"Key {OWNER_KEY[0]}:{OWNER_KEY[1]}"}
    assert (
        await gateway.post("/local/echo", json={}, headers=headers)
    ).status_code == 200

    del fake_registry[0].keys[OWNER_KEY]
    await client.publish(
        "fal.keys.revoked", json.dumps({"key_id": OWNER_KEY[0]}).encode()
    )
    await client.flush()

    async def refused() -> bool:
        response = await gateway.post("/local/echo", json={}, headers=headers)
        return response.status_code == 401

    deadline = time.monotonic() + 10
    while not await refused():
        assert time.monotonic() < deadline, "the revoked key was still accepted"
        await asyncio.sleep(0.05)


def runner_environment(runner: Any) -> dict[str, str]:
    environ = Path(f"/proc/{runner.handle.process.pid}/environ").read_bytes()
    return dict(
        item.split("=", 1) for item in environ.decode().split("\0") if "=" in item
    )


async def test_secrets_changed_then_rollout_gives_runners_new_values(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = app_with_secrets(TOKEN="old")
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    [first] = runners_of(scheduler)
    assert runner_environment(first)["TOKEN"] == "old"

    fake_registry[0].apps[("local", "echo")] = app_with_secrets(TOKEN="new")
    changed = {"owner": "local", "environment_name": "main"}
    await client.publish("fal.secrets.changed", json.dumps(changed).encode())
    await client.flush()
    await control(client, action="rollout", owner="local", alias="echo", force=True)

    assert (await gateway.post("/local/echo", json={})).status_code == 200
    second = [r for r in runners_of(scheduler) if r is not first]
    assert [runner_environment(r)["TOKEN"] for r in second] == ["new"]


class GatedEnvironments(ThisInterpreter):
    """Holds every environment build until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def ensure(self, *args: Any, **kwargs: Any) -> Any:
        await self.gate.wait()
        return await super().ensure(*args, **kwargs)


async def listed(client: Client) -> list[dict[str, Any]]:
    answer = await control(client, action="list", owner="local")
    assert answer["ok"] is True
    return list(answer["runners"])


async def test_control_list_shows_pending_then_setup_with_machine_type(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    environments = GatedEnvironments()
    scheduler.pools.environments = environments
    fake_registry[0].apps[("local", "echo")] = stand_in_app(
        keep_alive=60, setup_seconds=1.5, machine_types=["GPU-H100"]
    )
    request = asyncio.create_task(gateway.post("/local/echo", json={}))

    deadline = time.monotonic() + 30
    pending: list[dict[str, Any]] = []
    while not pending:
        assert time.monotonic() < deadline, "no PENDING runner was listed"
        pending = await listed(client)
    environments.gate.set()
    setup: list[dict[str, Any]] = []
    while not setup:
        assert time.monotonic() < deadline, "no SETUP runner was listed"
        setup = [r for r in await listed(client) if r["state"] == "SETUP"]
    assert (await request).status_code == 200
    [ready] = await listed(client)

    assert [(r["state"], r["machine_type"]) for r in pending] == [
        ("PENDING", "GPU-H100")
    ]
    assert pending[0]["runner_id"].startswith("pending-")
    assert setup[0]["machine_type"] == "GPU-H100"
    assert setup[0]["expiration_countdown"] is None
    assert ready["runner_id"] == setup[0]["runner_id"]
    assert ready["state"] == "IDLE"
    # The process spent setup_seconds in setup() before it was ready.
    assert ready["uptime_seconds"] >= 1.5


async def test_control_stop_replace_first_drains_only_after_replacement_ready(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(
        keep_alive=60, setup_seconds=1.0
    )
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    old = runners_of(scheduler)[0].handle

    answer = await control(
        client,
        action="stop",
        owner="local",
        runner_id=old.runner_id,
        replace_first=True,
    )
    snapshots = []
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, f"not replaced: {snapshots[-1:]}"
        runners = await listed(client)
        snapshots.append(runners)
        if [r["runner_id"] for r in runners if r["state"] == "IDLE"] not in (
            [old.runner_id],
            [],
        ) and all(r["runner_id"] != old.runner_id for r in runners):
            break
        await asyncio.sleep(0.02)

    assert answer == {"ok": True}
    seen = {
        (r["runner_id"] == old.runner_id, r["state"], r["replacement"])
        for runners in snapshots
        for r in runners
    }
    assert (True, "IDLE", "WILL_REPLACE") in seen
    assert (False, "SETUP", "NO_REPLACE") in seen
    # Never a moment without a ready runner: the old one served until the
    # replacement was ready.
    for runners in snapshots:
        assert any(r["state"] in ("IDLE", "RUNNING", "DRAINING") for r in runners)
    assert old.exited
    [new] = runners_of(scheduler)
    assert new.handle.runner_id != old.runner_id
    assert (await gateway.post("/local/echo", json={})).status_code == 200


class BrokenEnvironments(ThisInterpreter):
    """Every environment build fails."""

    async def ensure(self, *args: Any, **kwargs: Any) -> Any:
        from fal_scheduler.errors import EnvironmentBuildError

        raise EnvironmentBuildError("the index is down")


async def test_control_stop_replace_first_keeps_runner_when_replacement_fails(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(keep_alive=60)
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    old = runners_of(scheduler)[0].handle
    scheduler.pools.environments = BrokenEnvironments()

    answer = await control(
        client,
        action="stop",
        owner="local",
        runner_id=old.runner_id,
        replace_first=True,
    )
    deadline = time.monotonic() + 30
    while scheduler.control._tasks:
        assert time.monotonic() < deadline, "the replacement never finished"
        await asyncio.sleep(0.02)

    assert answer == {"ok": True}
    [runner] = await listed(client)
    assert (runner["runner_id"], runner["state"], runner["replacement"]) == (
        old.runner_id,
        "IDLE",
        "NO_REPLACE",
    )
    assert not old.exited
    assert (await gateway.post("/local/echo", json={})).status_code == 200
