"""Fixtures of the registry's tests: databases, a fake scheduler, a server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import nats
import psycopg
import pytest
from sqlalchemy.engine import make_url

from fal_platform.testing import NatsServer
from fal_proto import registry_pb2_grpc
from fal_registry import RegistryServer
from fal_registry.testing import (
    FakeControl,
    FakeScheduler,
    RunningRegistry,
    make_settings,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> Iterator[str]:
    """A fresh, empty database of each supported kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    with fresh_postgres_database(postgres_url) as url:
        yield url


def _admin_connection(server_url: str) -> psycopg.Connection:
    server = make_url(server_url)
    return psycopg.connect(
        host=server.host,
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        dbname=server.database,
        autocommit=True,
    )


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A database of its own on the test PostgreSQL, dropped afterwards, so
    that parallel test runs never share tables."""
    name = f"registry_test_{uuid.uuid4().hex[:16]}"
    with _admin_connection(server_url) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with _admin_connection(server_url) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def scheduler(nats_server: NatsServer) -> AsyncIterator[FakeScheduler]:
    client = await nats.connect(nats_server.url)
    fake = FakeScheduler(client)
    await client.subscribe("fal.scheduler.build", cb=fake.handle)
    await client.flush()
    try:
        yield fake
    finally:
        await client.close()


@pytest.fixture
async def control(nats_server: NatsServer) -> AsyncIterator[FakeControl]:
    """A scheduler's answers about live runners, over NATS request/reply."""
    client = await nats.connect(nats_server.url)
    fake = FakeControl()
    await client.subscribe("fal.scheduler.control", cb=fake.handle)
    await client.flush()
    try:
        yield fake
    finally:
        await client.close()


@pytest.fixture
async def events(nats_server: NatsServer) -> AsyncIterator[list[tuple[str, dict]]]:
    """Every ``fal.apps.*`` event, as (subject, payload), in arrival order."""
    received: list[tuple[str, dict]] = []

    async def record(message: Any) -> None:
        received.append((message.subject, json.loads(message.data)))

    client = await nats.connect(nats_server.url)
    await client.subscribe("fal.apps.*", cb=record)
    await client.flush()
    try:
        yield received
    finally:
        await client.close()


@pytest.fixture
async def registry(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[RunningRegistry]:
    server = RegistryServer(make_settings(database_url, nats_server.url, tmp_path))
    await server.start()
    channel = grpc.aio.insecure_channel(server.address)
    admin_key = (tmp_path / "admin_key").read_text().strip()
    try:
        yield RunningRegistry(
            server, registry_pb2_grpc.RegistryStub(channel), channel, admin_key
        )
    finally:
        await channel.close()
        await server.stop()
