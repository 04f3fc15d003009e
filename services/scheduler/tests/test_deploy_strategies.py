"""Deploy strategies on ``fal.apps.deployed``: rolling warms first, recreate not."""

from __future__ import annotations

import asyncio
import json

import httpx
import nats
from scheduler_helpers import FakeRegistry, stand_in_app

from fal_platform.testing import NatsServer
from fal_scheduler.service import Scheduler


async def announce(nats_server: NatsServer, revision: str, strategy: str) -> None:
    client = await nats.connect(nats_server.url)
    event = {"owner": "local", "alias": "echo", "revision": revision,
             "environment_name": "main", "env_key": "x",
             "deployment_strategy": strategy}  # fmt: skip
    await client.publish("fal.apps.deployed", json.dumps(event).encode())
    await client.drain()


def ready_revisions(scheduler: Scheduler) -> set[str]:
    return {
        revision
        for (_, _, revision), pool in scheduler.pools.pools().items()
        for runner in pool.runners
        if runner.state.value in ("IDLE", "RUNNING")
    }


async def watch_order(
    scheduler: Scheduler, old_runner: object, order: list[str]
) -> None:
    """Note when rev2 first has a ready runner and when the old one exits."""
    while "old exited" not in order:
        if "rev2 ready" not in order and "rev2" in ready_revisions(scheduler):
            order.append("rev2 ready")
        if old_runner.handle.exited:  # type: ignore[attr-defined]
            order.append("old exited")
        await asyncio.sleep(0.01)


async def test_rolling_deploy_under_load_fails_nothing_and_warms_first(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    nats_server: NatsServer,
) -> None:
    apps = fake_registry[0].apps
    apps[("local", "echo")] = stand_in_app(revision="rev1", setup_seconds=0.5)
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    [old_runner] = [r for p in scheduler.pools.pools().values() for r in p.runners]
    order: list[str] = []
    responses: list[httpx.Response] = []
    stop = asyncio.Event()

    async def load() -> None:
        while not stop.is_set():
            body = {"seconds": 0.1}
            responses.append(await gateway.post("/local/echo/slow", json=body))

    loaders = [asyncio.create_task(load()) for _ in range(2)]
    watcher = asyncio.create_task(watch_order(scheduler, old_runner, order))
    await asyncio.sleep(0.5)
    apps[("local", "echo")] = stand_in_app(revision="rev2", setup_seconds=0.5)
    await announce(nats_server, "rev2", "rolling")
    await asyncio.wait_for(watcher, 30)
    after = len(responses)
    while len(responses) < after + 4:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*loaders)

    assert order == ["rev2 ready", "old exited"]
    assert [r.status_code for r in responses] == [200] * len(responses)
    assert responses[-1].json()["runner_id"] != old_runner.handle.runner_id
    assert set(ready_revisions(scheduler)) == {"rev2"}


async def test_recreate_deploy_drains_old_before_starting_new(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    nats_server: NatsServer,
) -> None:
    apps = fake_registry[0].apps
    apps[("local", "echo")] = stand_in_app(revision="rev1", keep_alive=60)
    assert (await gateway.post("/local/echo", json={})).status_code == 200
    [old_runner] = [r for p in scheduler.pools.pools().values() for r in p.runners]
    order: list[str] = []

    apps[("local", "echo")] = stand_in_app(revision="rev2", keep_alive=60)
    await announce(nats_server, "rev2", "recreate")
    await asyncio.wait_for(watch_order(scheduler, old_runner, order), 30)
    started_before = [key[2] for key in scheduler.pools.pools()]
    response = await gateway.post("/local/echo", json={})

    assert order == ["old exited"]
    assert started_before == []
    assert response.json()["app"] == ["local", "echo", "rev2"]
