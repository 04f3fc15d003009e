"""Fixtures of the scheduler tests."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest

from fal_platform.testing import NatsServer
from fal_proto import registry_pb2_grpc
from fal_scheduler.environments import EnvironmentBuilder
from fal_scheduler.gateway import GatewayConfig
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import PoolDefaults
from fal_scheduler.service import Scheduler, SchedulerConfig

# Tests import their helpers by a name unique to this folder.
sys.path.insert(0, str(Path(__file__).parent))

from scheduler_helpers import (
    INTERNAL_TOKEN,
    FakeRegistry,
    ThisInterpreter,
    stand_in_backend,
)


@pytest.fixture
async def fake_registry() -> AsyncIterator[tuple[FakeRegistry, str]]:
    registry = FakeRegistry()
    server = grpc.aio.server()
    registry_pb2_grpc.add_RegistryServicer_to_server(registry, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield registry, f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


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
        gateway=GatewayConfig(max_body_bytes=1024),
        pool_defaults=PoolDefaults(termination_grace=5.0, startup_timeout=30.0),
        reap_interval=0.1,
    )
    builder = EnvironmentBuilder(home, IndexSettings(), fal_sources=[])
    service = Scheduler(
        config,
        backend=stand_in_backend(home),
        builder=builder,
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
