"""The HTTP gateway end to end: fake registry, real NATS, real runners."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import nats
from scheduler_helpers import (
    OTHER_KEY,
    OWNER_KEY,
    FakeRegistry,
    runner_logs,
    stand_in_app,
)

from fal_platform.testing import NatsServer
from fal_scheduler.service import Scheduler


def key_header(key: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Key {key[0]}:{key[1]}"}


async def wait_until(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(predicate())


def all_runners(scheduler: Scheduler) -> list:  # type: ignore[type-arg]
    return [r for pool in scheduler.pools.pools().values() for r in pool.runners]


async def test_first_request_scales_from_zero_and_succeeds(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(setup_seconds=0.5)

    response = await gateway.post(
        "/local/echo", json={"prompt": "hi"}, headers={"x-fal-request-id": "req-1"}
    )

    assert response.status_code == 200
    echoed = response.json()
    assert json.loads(echoed["body"]) == {"prompt": "hi"}
    assert echoed["content_type"] == "application/json"
    assert echoed["request_id"] == "req-1"
    assert response.headers["x-fal-request-id"] == "req-1"
    assert len(runner_logs(scheduler.config.home)) == 1
    metrics = (await gateway.get("/metrics")).text
    assert "fal_cold_starts_total 1.0" in metrics
    assert "fal_runners_started_total 1.0" in metrics


async def test_body_and_content_type_pass_through_intact(
    gateway: httpx.AsyncClient, fake_registry: tuple[FakeRegistry, str]
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app()
    body = bytes(range(256))

    response = await gateway.post(
        "/local/echo/raw",
        content=body,
        headers={"content-type": "application/octet-stream"},
    )

    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-fal-request-id"]


async def test_runner_errors_pass_through(
    gateway: httpx.AsyncClient, fake_registry: tuple[FakeRegistry, str]
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app()

    failed = await gateway.post("/local/echo/fail", json={})
    invalid = await gateway.post("/local/echo/invalid", json={})

    assert failed.status_code == 500
    assert failed.json() == {"detail": "boom", "error_type": "ValueError"}
    assert failed.headers["x-fal-error-type"] == "ValueError"
    assert failed.headers["x-fal-request-id"]
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "prompt"]


async def test_unknown_app_is_404(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/local/missing", json={})

    assert response.status_code == 404
    assert response.json() == {"detail": "Application 'local/missing' not found."}
    assert response.headers["x-fal-request-id"]


async def test_unknown_endpoint_is_404_listing_endpoints(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(endpoints=["/", "/rank"])

    response = await gateway.post("/local/echo/nope", json={})

    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "'/nope'" in detail
    assert "/rank" in detail
    assert runner_logs(scheduler.config.home) == []


async def test_reserved_owner_is_not_routed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/metrics/x", json={})
    health = await gateway.get("/health")

    assert response.status_code == 404
    assert health.json() == {"status": "ok"}


async def test_private_app_requires_owner_key(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
) -> None:
    fake_registry[0].apps[("local", "secret")] = stand_in_app(
        alias="secret", auth_mode="private"
    )

    missing = await gateway.post("/local/secret", json={})
    invalid = await gateway.post(
        "/local/secret", json={}, headers=key_header(("key-local", "wrong"))
    )
    other_owner = await gateway.post(
        "/local/secret", json={}, headers=key_header(OTHER_KEY)
    )
    owner = await gateway.post("/local/secret", json={}, headers=key_header(OWNER_KEY))

    assert missing.status_code == 401
    assert "Authorization: Key" in missing.json()["detail"]
    assert invalid.status_code == 401
    assert other_owner.status_code == 404
    assert "local/secret" in other_owner.json()["detail"]
    assert owner.status_code == 200


async def test_oversize_body_is_413(
    gateway: httpx.AsyncClient, fake_registry: tuple[FakeRegistry, str]
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app()

    declared = await gateway.post("/local/echo/raw", content=b"x" * 2048)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(4):
            yield b"x" * 512

    streamed = await gateway.post("/local/echo/raw", content=chunks())

    assert declared.status_code == 413
    assert "1024 bytes" in declared.json()["detail"]
    assert streamed.status_code == 413


async def test_setup_failure_is_503_then_fails_fast_without_new_runner(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
) -> None:
    fake_registry[0].apps[("local", "broken")] = stand_in_app(
        alias="broken", setup_error="weights not found"
    )

    first = await gateway.post("/local/broken", json={})
    started = time.monotonic()
    second = await gateway.post("/local/broken", json={})
    second_took = time.monotonic() - started

    assert first.status_code == 503
    detail = first.json()["detail"]
    assert "local/broken" in detail
    assert "RuntimeError: weights not found" in detail
    assert second.status_code == 503
    assert "weights not found" in second.json()["detail"]
    assert second_took < 1.0
    assert len(runner_logs(scheduler.config.home)) == 1


async def test_idle_runner_stops_after_keep_alive(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(keep_alive=1)

    response = await gateway.post("/local/echo", json={})
    runners = all_runners(scheduler)
    stopped = await wait_until(lambda: not all_runners(scheduler))

    assert response.status_code == 200
    assert len(runners) == 1
    assert stopped
    assert await wait_until(lambda: runners[0].handle.exited)


async def test_deleted_app_event_stops_its_runners(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    nats_server: NatsServer,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app()
    await gateway.post("/local/echo", json={})
    runners = all_runners(scheduler)

    del fake_registry[0].apps[("local", "echo")]
    client = await nats.connect(nats_server.url)
    event = {"owner": "local", "alias": "echo", "environment_name": "main"}
    await client.publish("fal.apps.deleted", json.dumps(event).encode())
    await client.drain()

    assert len(runners) == 1
    assert await wait_until(lambda: runners[0].handle.exited)
    after = await gateway.post("/local/echo", json={})
    assert after.status_code == 404


async def test_deployed_event_drains_old_revision_after_in_flight(
    scheduler: Scheduler,
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    nats_server: NatsServer,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(revision="rev1")
    await gateway.post("/local/echo", json={})
    old_runner = all_runners(scheduler)[0]
    slow = asyncio.create_task(gateway.post("/local/echo/slow", json={"seconds": 1}))
    await asyncio.sleep(0.3)

    fake_registry[0].apps[("local", "echo")] = stand_in_app(revision="rev2")
    client = await nats.connect(nats_server.url)
    event = {"owner": "local", "alias": "echo", "revision": "rev2",
             "environment_name": "main", "env_key": "x"}  # fmt: skip
    await client.publish("fal.apps.deployed", json.dumps(event).encode())
    await client.drain()
    await asyncio.sleep(0.2)
    in_flight_survived = not old_runner.handle.exited

    slow_response = await slow
    new_response = await gateway.post("/local/echo", json={})

    assert in_flight_survived
    assert slow_response.status_code == 200
    assert new_response.json()["app"] == ["local", "echo", "rev2"]
    assert await wait_until(lambda: old_runner.handle.exited)
