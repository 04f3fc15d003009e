"""The queue API end to end: fake registry, real NATS JetStream, real runners."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from scheduler_helpers import (
    INTERNAL_TOKEN,
    OTHER_KEY,
    OWNER_KEY,
    FakeRegistry,
    ThisInterpreter,
    runner_logs,
    stand_in_app,
    stand_in_backend,
)

from fal_platform.testing import NatsServer
from fal_scheduler.environments import EnvironmentBuilder
from fal_scheduler.gateway import GatewayConfig
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import PoolDefaults
from fal_scheduler.queue import QueueSettings
from fal_scheduler.service import Scheduler, SchedulerConfig

QUEUE_SETTINGS = QueueSettings(
    ack_wait=3.0,
    max_retries=3,
    queue_limit=100,
    webhook_attempts=3,
    webhook_backoff=0.05,
    webhook_timeout=2.0,
    sweep_interval=0.05,
)


@pytest.fixture
async def scheduler(
    tmp_path: Path, nats_server: NatsServer, fake_registry: tuple[FakeRegistry, str]
) -> AsyncIterator[Scheduler]:
    home = tmp_path / "home"
    config = SchedulerConfig(
        home=home,
        registry_address=fake_registry[1],
        nats_url=nats_server.url,
        internal_token=INTERNAL_TOKEN,
        gateway=GatewayConfig(max_body_bytes=600 * 1024),
        pool_defaults=PoolDefaults(termination_grace=2.0, startup_timeout=30.0),
        reap_interval=0.1,
        queue=QUEUE_SETTINGS,
    )
    service = Scheduler(
        config,
        backend=stand_in_backend(home),
        builder=EnvironmentBuilder(home, IndexSettings(), fal_sources=[]),
        environments=ThisInterpreter(),
    )
    await service.start()
    try:
        yield service
    finally:
        await service.close()


@pytest.fixture
async def gateway(scheduler: Scheduler) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=scheduler.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway", timeout=30
    ) as client:
        yield client


@pytest.fixture
def apps(fake_registry: tuple[FakeRegistry, str]) -> dict[Any, Any]:
    return fake_registry[0].apps


async def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(predicate())


async def submit(
    gateway: httpx.AsyncClient,
    path: str = "",
    body: Any = None,
    headers: dict[str, str] | None = None,
    app: str = "local/echo",
    query: str = "",
) -> dict[str, Any]:
    url = f"/queue/{app}{path}" + (f"?{query}" if query else "")
    response = await gateway.post(url, json=body or {}, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["x-fal-request-id"] == response.json()["request_id"]
    submitted: dict[str, Any] = response.json()
    return submitted


async def status(
    gateway: httpx.AsyncClient, request_id: str, logs: bool = False, app: str = "echo"
) -> dict[str, Any]:
    url = f"/queue/local/{app}/requests/{request_id}/status"
    response = await gateway.get(url + ("?logs=1" if logs else ""))
    assert response.status_code in (200, 202), response.text
    body: dict[str, Any] = response.json()
    return body


async def completed(
    gateway: httpx.AsyncClient, request_id: str, app: str = "echo", timeout: float = 30
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await status(gateway, request_id, app=app))["status"] == "COMPLETED":
            return await gateway.get(f"/queue/local/{app}/requests/{request_id}")
        await asyncio.sleep(0.05)
    raise AssertionError(f"request {request_id} did not complete in {timeout} s")


def runner_pids(scheduler: Scheduler) -> dict[str, int]:
    return {
        r.handle.runner_id: r.handle.process.pid  # type: ignore[attr-defined]
        for pool in scheduler.pools.pools().values()
        for r in pool.runners
    }


# -- the happy path --------------------------------------------------------


async def test_submit_then_result_returns_runner_answer(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()

    submitted = await submit(gateway, body={"prompt": "hi"})
    result = await completed(gateway, submitted["request_id"])

    request_id = submitted["request_id"]
    base = f"http://gateway/queue/local/echo/requests/{request_id}"
    assert submitted["response_url"] == base
    assert submitted["status_url"] == base + "/status"
    assert submitted["cancel_url"] == base + "/cancel"
    assert result.status_code == 200
    assert result.headers["x-fal-request-id"] == request_id
    assert json.loads(result.json()["body"]) == {"prompt": "hi"}
    assert result.json()["request_id"] == request_id


async def test_returned_urls_follow_forwarded_headers(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-host": "queue.example"}

    submitted = await submit(gateway, headers=forwarded)

    assert submitted["status_url"].startswith(
        "https://queue.example/queue/local/echo/requests/"
    )


async def test_status_reports_queue_position_progress_and_logs(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(max_concurrency=1)
    running = await submit(gateway, "/slow", {"seconds": 1.5})
    queued = await submit(gateway, "/slow", {"seconds": 0.1})

    assert await wait_until(lambda: True)
    deadline = time.monotonic() + 20
    while (await status(gateway, running["request_id"]))["status"] != "IN_PROGRESS":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    progress = await status(gateway, running["request_id"], logs=True)
    waiting = await status(gateway, queued["request_id"])
    await completed(gateway, queued["request_id"])
    done = await status(gateway, running["request_id"], logs=True)

    assert waiting["status"] == "IN_QUEUE"
    assert waiting["queue_position"] == 0
    assert progress["status"] == "IN_PROGRESS"
    assert isinstance(progress["logs"], list)
    assert done["status"] == "COMPLETED"
    messages = [line["message"] for line in done["logs"]]
    assert f"sleeping for {running['request_id']}" in messages
    assert all({"message", "level", "timestamp"} <= set(line) for line in done["logs"])
    assert done["metrics"]["inference_time"] > 0


async def test_status_stream_sends_events_until_completed(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    submitted = await submit(gateway, "/slow", {"seconds": 0.5})

    url = f"/queue/local/echo/requests/{submitted['request_id']}/status/stream"
    async with gateway.stream("GET", url) as response:
        lines = [line async for line in response.aiter_lines()]

    events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[-1]["status"] == "COMPLETED"
    assert len(events) >= 2


async def test_runner_error_is_stored_as_completed_with_error(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    submitted = await submit(gateway, "/fail")

    result = await completed(gateway, submitted["request_id"])
    final = await status(gateway, submitted["request_id"])

    assert result.status_code == 500
    assert result.headers["x-fal-error-type"] == "ValueError"
    assert final["error"] == "boom"
    assert final["error_type"] == "ValueError"


async def test_low_priority_waits_for_normal_priority(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(max_concurrency=1)
    blocker = await submit(gateway, "/slow", {"seconds": 1.0})
    low = await submit(gateway, headers={"x-fal-queue-priority": "low"})
    normal = await submit(gateway, headers={"x-fal-queue-priority": "normal"})

    await completed(gateway, low["request_id"])
    records = {
        name: await scheduler.queue.record(item["request_id"])
        for name, item in (("blocker", blocker), ("low", low), ("normal", normal))
    }

    assert records["normal"]["started_at"] < records["low"]["started_at"]


# -- bad input -------------------------------------------------------------


async def test_status_of_unknown_request_is_404(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()

    for url in (
        "/queue/local/echo/requests/no-such-id/status",
        "/queue/local/echo/requests/no-such-id",
    ):
        response = await gateway.get(url)
        assert response.status_code == 404
        assert "no-such-id" in response.json()["detail"]
    cancel = await gateway.put("/queue/local/echo/requests/no-such-id/cancel")
    assert cancel.status_code == 404


async def test_request_of_another_app_is_404(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    apps[("local", "other")] = stand_in_app(alias="other")
    submitted = await submit(gateway)

    response = await gateway.get(
        f"/queue/local/other/requests/{submitted['request_id']}/status"
    )

    assert response.status_code == 404


async def test_cancel_of_completed_request_is_400_naming_state(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    submitted = await submit(gateway)
    await completed(gateway, submitted["request_id"])

    response = await gateway.put(
        f"/queue/local/echo/requests/{submitted['request_id']}/cancel"
    )

    assert response.status_code == 400
    assert "COMPLETED" in response.json()["detail"]


async def test_oversize_body_is_413_before_a_runner_starts(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()

    response = await gateway.post(
        "/queue/local/echo/raw", content=b"x" * (600 * 1024 + 1)
    )

    assert response.status_code == 413
    assert str(600 * 1024) in response.json()["detail"]
    assert runner_logs(scheduler.config.home) == []


async def test_body_larger_than_a_nats_message_round_trips(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    body = os.urandom(500 * 1024)

    response = await gateway.post(
        "/queue/local/echo/raw",
        content=body,
        headers={"content-type": "application/octet-stream"},
    )
    result = await completed(gateway, response.json()["request_id"])

    assert result.content == body
    assert result.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("headers", "query", "named"),
    [
        ({"x-fal-queue-priority": "urgent"}, "", "X-Fal-Queue-Priority"),
        ({"x-fal-request-timeout": "0.5"}, "", "X-Fal-Request-Timeout"),
        ({"x-fal-request-timeout": "soon"}, "", "X-Fal-Request-Timeout"),
        ({}, "fal_webhook=ftp://example.com/x", "fal_webhook"),
    ],
)
async def test_bad_submit_header_is_400_naming_it(
    gateway: httpx.AsyncClient,
    apps: dict[Any, Any],
    headers: dict[str, str],
    query: str,
    named: str,
) -> None:
    apps[("local", "echo")] = stand_in_app()

    response = await gateway.post(
        "/queue/local/echo" + (f"?{query}" if query else ""), json={}, headers=headers
    )

    assert response.status_code == 400
    assert named in response.json()["detail"]


async def test_unknown_app_and_endpoint_are_404(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()

    missing_app = await gateway.post("/queue/local/nope", json={})
    missing_endpoint = await gateway.post("/queue/local/echo/nope", json={})

    assert missing_app.status_code == 404
    assert "local/nope" in missing_app.json()["detail"]
    assert missing_endpoint.status_code == 404
    assert "/nope" in missing_endpoint.json()["detail"]


async def test_private_app_queue_needs_the_owners_key(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(auth_mode="private")
    owner = {"Authorization": f"Key {OWNER_KEY[0]}:{OWNER_KEY[1]}"}
    other = {"Authorization": f"Key {OTHER_KEY[0]}:{OTHER_KEY[1]}"}

    anonymous = await gateway.post("/queue/local/echo", json={})
    stranger = await gateway.post("/queue/local/echo", json={}, headers=other)
    accepted = await gateway.post("/queue/local/echo", json={}, headers=owner)
    request_id = accepted.json()["request_id"]
    peek = await gateway.get(f"/queue/local/echo/requests/{request_id}/status")

    assert anonymous.status_code == 401
    assert stranger.status_code == 404
    assert accepted.status_code == 200
    assert peek.status_code == 401


async def test_queue_beyond_limit_is_429_and_keeps_accepted(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(max_concurrency=1)
    accepted = [await submit(gateway, "/slow", {"seconds": 3})]
    accepted += [
        await submit(gateway, "/slow", {"seconds": 0.01})
        for _ in range(QUEUE_SETTINGS.queue_limit - 1)
    ]

    refused = await gateway.post("/queue/local/echo/slow", json={"seconds": 0.01})

    assert refused.status_code == 429
    assert "limit" in refused.json()["detail"]
    for item in accepted:
        assert (await completed(gateway, item["request_id"])).status_code == 200


async def test_request_timeout_expires_waiting_request_with_504_user(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(setup_seconds=4.0)

    submitted = await submit(gateway, headers={"x-fal-request-timeout": "1.5"})
    result = await completed(gateway, submitted["request_id"])

    assert result.status_code == 504
    assert result.headers["x-fal-request-timeout-type"] == "user"
    assert "X-Fal-Request-Timeout" in result.json()["detail"]


async def test_runner_that_never_starts_fails_requests_naming_the_app(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(setup_error="no GPU here")

    submitted = [await submit(gateway) for _ in range(3)]
    results = [await completed(gateway, s["request_id"]) for s in submitted]

    for result in results:
        assert result.status_code == 503
        assert "local/echo" in result.json()["detail"]
        assert "no GPU here" in result.json()["detail"]


# -- cancellation ----------------------------------------------------------


async def test_cancel_queued_request_completes_it_cancelled(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(max_concurrency=1)
    ledger = scheduler.config.home / "ledger"
    scheduler.backend.extra_env["STAND_IN_LEDGER"] = str(ledger)  # type: ignore[attr-defined]
    await submit(gateway, "/slow", {"seconds": 1.0})
    queued = await submit(gateway)

    cancel = await gateway.put(
        f"/queue/local/echo/requests/{queued['request_id']}/cancel"
    )
    result = await completed(gateway, queued["request_id"])
    final = await status(gateway, queued["request_id"])
    await asyncio.sleep(1.5)

    assert cancel.status_code == 202
    assert cancel.json() == {"status": "CANCELLATION_REQUESTED"}
    assert result.status_code == 400
    assert "cancelled" in result.json()["detail"]
    assert final["error_type"] == "RequestCancelled"
    assert queued["request_id"] not in ledger.read_text()


async def test_cancel_running_request_replaces_its_runner(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    running = await submit(gateway, "/slow", {"seconds": 30})
    deadline = time.monotonic() + 20
    while (await status(gateway, running["request_id"]))["status"] != "IN_PROGRESS":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    runner_id = (await scheduler.queue.record(running["request_id"]))["runner_id"]

    cancel = await gateway.put(
        f"/queue/local/echo/requests/{running['request_id']}/cancel"
    )
    result = await completed(gateway, running["request_id"])

    final = await status(gateway, running["request_id"])

    assert cancel.status_code == 202
    assert result.status_code == 400
    assert final["error_type"] == "RequestCancelled"
    assert await wait_until(lambda: runner_id not in runner_pids(scheduler))


async def test_queue_size_and_flush_need_the_owners_key(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(max_concurrency=1)
    owner = {"Authorization": f"Key {OWNER_KEY[0]}:{OWNER_KEY[1]}"}
    blocker = await submit(gateway, "/slow", {"seconds": 1.0})
    queued = [await submit(gateway) for _ in range(3)]
    deadline = time.monotonic() + 20
    while (await status(gateway, blocker["request_id"]))["status"] != "IN_PROGRESS":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)

    anonymous = await gateway.get("/queue/local/echo/size")
    size = await gateway.get("/queue/local/echo/size", headers=owner)
    flushed = await gateway.delete("/queue/local/echo/requests", headers=owner)
    results = [await completed(gateway, q["request_id"]) for q in queued]

    assert anonymous.status_code == 401
    assert size.json() == {"size": 4}
    assert flushed.json() == {"cancelled": 3}
    assert all(result.status_code == 400 for result in results)


# -- retries ---------------------------------------------------------------


async def test_runner_killed_mid_request_completes_once_on_another_runner(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    submitted = await submit(gateway, "/slow", {"seconds": 2})
    request_id = submitted["request_id"]
    deadline = time.monotonic() + 20
    while (await status(gateway, request_id))["status"] != "IN_PROGRESS":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    first = (await scheduler.queue.record(request_id))["runner_id"]

    os.kill(runner_pids(scheduler)[first], signal.SIGKILL)
    result = await completed(gateway, request_id)
    record = await scheduler.queue.record(request_id)

    assert result.status_code == 200
    assert result.json()["runner_id"] != first
    assert record["attempts"] == 2


@pytest.mark.parametrize(
    ("failure", "same_runner"), [(503, False), (504, True), (429, True), (0, False)]
)
async def test_retryable_failure_is_retried(
    tmp_path: Path,
    gateway: httpx.AsyncClient,
    apps: dict[Any, Any],
    failure: int,
    same_runner: bool,
) -> None:
    apps[("local", "echo")] = stand_in_app()
    marker = tmp_path / "marker"

    submitted = await submit(
        gateway, "/flaky", {"marker": str(marker), "status": failure}
    )
    result = await completed(gateway, submitted["request_id"])

    assert result.status_code == 200
    assert (result.json()["runner_id"] == marker.read_text()) is same_runner


async def test_no_retry_header_completes_with_first_failure(
    tmp_path: Path, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()

    submitted = await submit(
        gateway,
        "/flaky",
        {"marker": str(tmp_path / "marker"), "status": 503},
        headers={"x-fal-no-retry": "1"},
    )
    result = await completed(gateway, submitted["request_id"])
    final = await status(gateway, submitted["request_id"])

    assert result.status_code == 503
    assert "X-Fal-No-Retry" in final["error"]


async def test_skip_retry_conditions_of_the_app_are_honoured(
    tmp_path: Path, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    app = stand_in_app()
    app.skip_retry_conditions.append("connection_error")
    apps[("local", "echo")] = app

    submitted = await submit(
        gateway, "/flaky", {"marker": str(tmp_path / "marker"), "status": 0}
    )
    result = await completed(gateway, submitted["request_id"])
    final = await status(gateway, submitted["request_id"])

    assert result.status_code == 503
    assert "skips retries on connection_error" in final["error"]


async def test_retries_are_bounded_then_error_says_why(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()

    submitted = await submit(gateway, "/exit")
    await completed(gateway, submitted["request_id"])
    final = await status(gateway, submitted["request_id"])
    record = await scheduler.queue.record(submitted["request_id"])

    assert record["attempts"] == QUEUE_SETTINGS.max_retries + 1
    assert "went away" in final["error"]
    assert f"failed {QUEUE_SETTINGS.max_retries + 1} times" in final["error"]


# -- webhooks --------------------------------------------------------------


async def test_webhook_receives_the_result(
    gateway: httpx.AsyncClient, apps: dict[Any, Any], webhook_server: WebhookServer
) -> None:
    apps[("local", "echo")] = stand_in_app()

    submitted = await submit(
        gateway, body={"a": 1}, query=f"fal_webhook={webhook_server.url}"
    )
    await completed(gateway, submitted["request_id"])
    assert await wait_until(lambda: len(webhook_server.received) == 1)

    delivery = webhook_server.received[0]
    assert delivery["request_id"] == submitted["request_id"]
    assert delivery["status"] == "OK"
    assert json.loads(delivery["payload"]["body"]) == {"a": 1}


async def test_refused_webhook_is_retried_then_recorded_failed(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    from fal_platform.testing import free_port

    apps[("local", "echo")] = stand_in_app()
    url = f"http://127.0.0.1:{free_port()}/hook"

    submitted = await submit(gateway, query=f"fal_webhook={url}")
    result = await completed(gateway, submitted["request_id"])

    async def webhook_state() -> dict[str, Any]:
        record = await scheduler.queue.record(submitted["request_id"])
        return dict(record.get("webhook") or {})

    deadline = time.monotonic() + 10
    while not (await webhook_state()):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    webhook = await webhook_state()
    again = await gateway.get(f"/queue/local/echo/requests/{submitted['request_id']}")

    assert result.status_code == 200
    assert webhook["status"] == "failed"
    assert webhook["attempts"] == QUEUE_SETTINGS.webhook_attempts
    assert "Connect" in webhook["error"]
    assert again.status_code == 200


# -- scaling ---------------------------------------------------------------


async def test_burst_from_zero_never_exceeds_max_concurrency(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(max_concurrency=4, setup_seconds=0.3)
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            pools = scheduler.pools.pools().values()
            total = sum(len(p.runners) + p.starting for p in pools)
            peak = max(peak, total)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    submitted = [await submit(gateway, "/slow", {"seconds": 0.05}) for _ in range(100)]
    results = [await completed(gateway, s["request_id"]) for s in submitted]
    watcher.cancel()

    assert all(result.status_code == 200 for result in results)
    assert peak == 4
    assert len(runner_logs(scheduler.config.home)) == 4


async def test_metrics_expose_queue_and_runner_state(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app()
    submitted = await submit(gateway)
    await completed(gateway, submitted["request_id"])
    await asyncio.sleep(0.3)

    metrics = (await gateway.get("/metrics")).text

    assert 'fal_queue_requests_total{alias="echo",outcome="ok",owner="local"} 1.0' in (
        metrics
    )
    assert "fal_queue_wait_seconds_bucket" in metrics
    assert "fal_queue_request_duration_seconds_bucket" in metrics
    assert 'fal_queue_depth{alias="echo",owner="local"} 0.0' in metrics
    assert 'fal_runners{state="IDLE"} 1.0' in metrics
    assert "fal_cold_starts_total 1.0" in metrics


# -- a webhook receiver ----------------------------------------------------


class WebhookServer:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        self.received.append(json.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def webhook_server() -> AsyncIterator[WebhookServer]:
    server = WebhookServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_steady_load_keeps_one_runner_then_keep_alive_stops_it(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(keep_alive=1, max_concurrency=4)
    counts = []

    # Step 1: one request at a time for three keep_alive periods.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        submitted = await submit(gateway, "/slow", {"seconds": 0.05})
        assert (await completed(gateway, submitted["request_id"])).status_code == 200
        counts.append(len(runner_pids(scheduler)))

    # Step 2: no load; the runner stops after keep_alive.
    stopped = await wait_until(lambda: not runner_pids(scheduler), timeout=10)

    assert set(counts) == {1}
    assert len(runner_logs(scheduler.config.home)) == 1
    assert stopped


async def test_redeploy_under_continuous_load_fails_no_request(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    import nats as nats_client

    apps[("local", "echo")] = stand_in_app(revision="rev1")
    submitted: list[dict[str, Any]] = []

    async def load() -> None:
        for _ in range(40):
            submitted.append(await submit(gateway))
            await asyncio.sleep(0.05)

    loader = asyncio.create_task(load())
    # Redeploy only once the old revision has answered, however slow its
    # cold start is on a loaded machine.
    while not submitted:
        await asyncio.sleep(0.05)
    first = await completed(gateway, submitted[0]["request_id"])
    assert first.json()["app"][2] == "rev1"
    apps[("local", "echo")] = stand_in_app(revision="rev2")
    connection = await nats_client.connect(scheduler.config.nats_url)
    event = {"owner": "local", "alias": "echo", "revision": "rev2"}
    await connection.publish("fal.apps.deployed", json.dumps(event).encode())
    await connection.drain()
    await loader
    results = [await completed(gateway, s["request_id"]) for s in submitted]

    assert [r.status_code for r in results] == [200] * len(results)
    revisions = [r.json()["app"][2] for r in results]
    assert revisions[0] == "rev1"
    assert revisions[-1] == "rev2"


async def test_runner_hint_routes_to_the_same_runner(
    gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(max_concurrency=2)
    hint = {"x-fal-runner-hint": "session-7"}
    # Two runners: the first busy, so the hinted request lands on the second.
    busy = await submit(gateway, "/slow", {"seconds": 1.5})
    first = await completed(
        gateway, (await submit(gateway, headers=hint))["request_id"]
    )
    await completed(gateway, busy["request_id"])

    # Both idle now: unhinted requests fill the first runner, hinted ones stick.
    plain = await completed(gateway, (await submit(gateway))["request_id"])
    again = await completed(
        gateway, (await submit(gateway, headers=hint))["request_id"]
    )

    assert first.json()["runner_id"] == again.json()["runner_id"]
    assert plain.json()["runner_id"] != again.json()["runner_id"]


async def test_concurrency_buffer_keeps_warm_runners_above_demand(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(
        concurrency_buffer=2, max_concurrency=5, keep_alive=1
    )

    busy = await submit(gateway, "/slow", {"seconds": 2.0})
    during = await wait_until(lambda: len(runner_pids(scheduler)) == 3)
    await completed(gateway, busy["request_id"])
    after = await wait_until(lambda: len(runner_pids(scheduler)) == 2)
    await asyncio.sleep(1.5)

    assert during  # one busy runner plus a buffer of two
    assert after  # keep_alive stops the extra one, the buffer stays
    assert len(runner_pids(scheduler)) == 2
    assert len(runner_logs(scheduler.config.home)) == 3


async def test_scaling_delay_lets_requests_wait_for_a_busy_runner(
    scheduler: Scheduler, gateway: httpx.AsyncClient, apps: dict[Any, Any]
) -> None:
    apps[("local", "echo")] = stand_in_app(scaling_delay=3, max_concurrency=3)
    busy = await submit(gateway, "/slow", {"seconds": 1.0})
    deadline = time.monotonic() + 20
    while (await status(gateway, busy["request_id"]))["status"] != "IN_PROGRESS":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)

    waiting = await submit(gateway)
    result = await completed(gateway, waiting["request_id"])

    assert result.status_code == 200
    assert len(runner_logs(scheduler.config.home)) == 1
