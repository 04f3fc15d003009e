"""The app's HealthCheck: polled by the scheduler, failing runners replaced."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

import httpx
from scheduler_helpers import FakeRegistry, stand_in_app

from fal_proto import registry_pb2
from fal_scheduler.pool import HealthCheckSettings
from fal_scheduler.service import Scheduler


def app_with_health_check(
    marker: Path, **config: int | bool
) -> registry_pb2.ResolveApplicationResponse:
    app = stand_in_app(keep_alive=60)
    app.serialized_function = json.dumps(
        {"health_path": "/healthz", "unhealthy_marker": str(marker)}
    ).encode()
    app.health_check_config.CopyFrom(
        registry_pb2.HealthCheckConfig(path="/healthz", **config)
    )
    return app


def test_health_check_defaults_follow_startup_timeout(scheduler: Scheduler) -> None:
    app = app_with_health_check(Path("unused"))
    long_startup = app_with_health_check(Path("unused"))
    long_startup.settings.startup_timeout = 90

    assert scheduler.pools._settings(app).health_check == HealthCheckSettings(
        path="/healthz",
        start_period=30.0,
        timeout=5.0,
        failure_threshold=3,
        call_regularly=False,
        interval=15.0,
    )
    checked = scheduler.pools._settings(long_startup).health_check
    assert checked is not None and checked.start_period == 90.0
    assert scheduler.pools._settings(stand_in_app()).health_check is None


async def test_runner_failing_health_check_is_replaced(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    tmp_path: Path,
) -> None:
    scheduler.pools.defaults = dataclasses.replace(
        scheduler.pools.defaults, health_check_interval=0.1
    )
    fake_registry[0].apps[("local", "echo")] = app_with_health_check(
        tmp_path / "{runner_id}.sick",
        start_period_seconds=0,
        timeout_seconds=2,
        failure_threshold=3,
        call_regularly=True,
    )
    first = await gateway.post("/local/echo", json={})
    [pool] = scheduler.pools.pools().values()
    [sick] = pool.runners
    await asyncio.sleep(0.5)  # several passing checks
    kept = sick in pool.runners

    (tmp_path / f"{sick.handle.runner_id}.sick").touch()
    deadline = time.monotonic() + 20
    while not (sick.handle.exited and pool.runners):
        assert time.monotonic() < deadline, "the unhealthy runner was not replaced"
        await asyncio.sleep(0.05)
    second = await gateway.post("/local/echo", json={})

    assert first.status_code == 200 and kept
    assert [r.handle.runner_id for r in pool.runners] != [sick.handle.runner_id]
    assert second.status_code == 200
    assert second.json()["runner_id"] != sick.handle.runner_id
