"""Runner life-cycle states as the runner list reports them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from scheduler_helpers import FakeRegistry, stand_in_app

from fal_platform.testing import NatsServer
from fal_scheduler.pool import PoolSettings, Runner, RunnerState
from fal_scheduler.pools import PoolDefaults
from fal_scheduler.service import Scheduler


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Client]:
    connection = await nats.connect(nats_server.url)
    try:
        yield connection
    finally:
        await connection.close()


async def listed(client: Client, **request: Any) -> list[dict[str, Any]]:
    reply = await client.request(
        "fal.scheduler.control",
        json.dumps({"action": "list", "owner": "local", **request}).encode(),
        timeout=10,
    )
    answer = json.loads(reply.data)
    assert answer["ok"] is True
    return list(answer["runners"])


@dataclass
class ExitedFlag:
    """A runner handle that only says whether its process is gone."""

    runner_id: str = "r1"
    base_url: str = "http://127.0.0.1:1"
    exited: bool = False

    async def wait(self) -> int | None:
        return 0


def test_runner_state_follows_slots_draining_and_exit() -> None:
    handle = ExitedFlag()
    runner = Runner(handle)
    seen = [runner.state]
    runner.in_flight = 1
    seen.append(runner.state)
    runner.draining = True
    seen.append(runner.state)
    runner.in_flight = 0
    seen.append(runner.state)
    handle.exited = True
    seen.append(runner.state)

    assert seen == [
        RunnerState.IDLE,
        RunnerState.RUNNING,
        RunnerState.DRAINING,
        RunnerState.TERMINATING,
        RunnerState.TERMINATED,
    ]


def test_failure_delay_defaults_grow_30s_capped_at_10min() -> None:
    defaults = PoolDefaults()
    settings = PoolSettings()

    assert (defaults.failure_delay_step, defaults.failure_delay_max) == (30.0, 600.0)
    assert (settings.failure_delay_step, settings.failure_delay_max) == (30.0, 600.0)


async def test_list_shows_failure_delay_after_setup_fails(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(
        setup_error="weights not found"
    )

    response = await gateway.post("/local/echo", json={})
    runners = await listed(client)

    assert response.status_code >= 500
    assert [(r["state"], r["alias"], r["revision"]) for r in runners] == [
        ("FAILURE_DELAY", "echo", "rev1")
    ]
    [pool] = scheduler.pools.pools().values()
    assert pool.failures == 1
    assert 0 < pool.failure_delay <= 30.0


async def test_list_shows_terminated_runner_only_when_asked(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    client: Client,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(keep_alive=0)
    response = await gateway.post("/local/echo", json={})
    runner_id = response.json()["runner_id"]

    deadline = time.monotonic() + 15
    with_terminated: list[dict[str, Any]] = []
    while not any(r["state"] == "TERMINATED" for r in with_terminated):
        assert time.monotonic() < deadline, f"never terminated: {with_terminated}"
        await asyncio.sleep(0.05)
        with_terminated = await listed(client, include_terminated=True)
    default = await listed(client)

    assert response.status_code == 200
    assert [(r["runner_id"], r["state"]) for r in with_terminated] == [
        (runner_id, "TERMINATED")
    ]
    assert default == []
