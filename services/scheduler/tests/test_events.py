"""Build requests over real NATS: request, ack, log lines, done."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from scheduler_helpers import stand_in_backend

from fal_platform.testing import NatsServer
from fal_scheduler.environments import EnvironmentBuilder
from fal_scheduler.events import EventResponder, parse_build_request
from fal_scheduler.metrics import SchedulerMetrics
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import RunnerPools


@pytest.fixture
async def responder(
    tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[EventResponder]:
    builder = EnvironmentBuilder(tmp_path, IndexSettings.from_pip(), fal_sources=[])
    metrics = SchedulerMetrics()
    pools = RunnerPools(tmp_path, stand_in_backend(tmp_path), builder, metrics)
    events = EventResponder(builder, pools, lambda owner, alias: None, metrics)
    await events.start(nats_server.url)
    try:
        yield events
    finally:
        await events.close()


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[NatsClient]:
    connection = await nats.connect(nats_server.url)
    try:
        yield connection
    finally:
        await connection.close()


async def request_build(
    client: NatsClient, build_id: str, requirements: list[list[str]]
) -> tuple[dict, list[dict], dict]:  # type: ignore[type-arg]
    logs: list[dict] = []  # type: ignore[type-arg]
    done: asyncio.Future[dict] = asyncio.get_running_loop().create_future()  # type: ignore[type-arg]

    async def on_message(msg) -> None:  # type: ignore[no-untyped-def]
        payload = json.loads(msg.data)
        if msg.subject.endswith(".log"):
            logs.append(payload)
        elif not done.done():
            done.set_result(payload)

    await client.subscribe(f"fal.build.{build_id}.*", cb=on_message)
    request = {
        "build_id": build_id,
        "requirements": requirements,
        "python_version": "3.11",
    }
    reply = await client.request(
        "fal.scheduler.build", json.dumps(request).encode(), timeout=10
    )
    return json.loads(reply.data), logs, await asyncio.wait_for(done, 120)


async def test_build_request_acks_streams_logs_and_finishes(
    responder: EventResponder, client: NatsClient, tmp_path: Path
) -> None:
    ack, logs, done = await request_build(client, "b1", [["six"]])

    assert ack["accepted"] is True
    assert done == {"ok": True, "env_key": ack["env_key"]}
    assert (tmp_path / "envs" / ack["env_key"] / "bin" / "python").exists()
    assert any("six" in line["message"] for line in logs)
    assert {line["level"] for line in logs} <= {"INFO", "WARNING", "ERROR"}
    assert all("T" in line["timestamp"] for line in logs)


async def test_failed_build_reports_error_in_done(
    responder: EventResponder, client: NatsClient
) -> None:
    ack, _, done = await request_build(client, "b2", [["fal-no-such-package-xyz"]])

    assert ack["accepted"] is True
    assert done["ok"] is False
    assert "step 1" in done["error"]


async def test_malformed_build_request_is_refused(
    responder: EventResponder, client: NatsClient
) -> None:
    reply = await client.request("fal.scheduler.build", b"[]", timeout=10)

    assert json.loads(reply.data)["accepted"] is False


def test_parse_build_request_rejects_bad_build_id() -> None:
    with pytest.raises(ValueError, match="build_id"):
        parse_build_request(b'{"build_id": "a.b", "requirements": []}')


async def test_container_image_build_is_refused_naming_backend(
    responder: EventResponder, client: NatsClient
) -> None:
    request = {
        "build_id": "c1",
        "requirements": [],
        "python_version": "3.11",
        "container_image": {"dockerfile_str": "FROM python:3.11"},
    }

    reply = await client.request(
        "fal.scheduler.build", json.dumps(request).encode(), timeout=10
    )

    answer = json.loads(reply.data)
    assert answer["accepted"] is False
    assert "local processes" in answer["error"]
    assert "Ray" in answer["error"]
    assert "no such backend exists yet" in answer["error"]


def test_parse_build_request_reads_no_cache_and_image() -> None:
    request = parse_build_request(
        b'{"build_id": "b", "requirements": [["six"]], "no_cache": true,'
        b' "container_image": {"dockerfile_str": "FROM x"}}'
    )

    assert request.no_cache is True
    assert request.container_image == {"dockerfile_str": "FROM x"}
    assert request.requirements == [["six"]]


def test_parse_build_request_rejects_non_object_image() -> None:
    with pytest.raises(ValueError, match="container_image"):
        parse_build_request(b'{"build_id": "b", "container_image": "FROM x"}')
