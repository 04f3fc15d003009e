"""Starting and stopping the registry: bootstrap, health, the public API."""

from __future__ import annotations

import stat
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import fal_registry
from fal_platform.testing import NatsServer
from fal_proto import registry_pb2, registry_pb2_grpc
from fal_registry import RegistryServer
from fal_registry.testing import RunningRegistry, make_settings


def test_public_names_are_pinned() -> None:
    assert sorted(fal_registry.__all__) == [
        "DEFAULT_SETTINGS",
        "KeyScope",
        "RegistryError",
        "RegistryServer",
        "Settings",
    ]


async def test_health_check_is_serving(registry: RunningRegistry) -> None:
    stub = health_pb2_grpc.HealthStub(registry.channel)

    for service in ("", "fal_platform.registry.v1.Registry"):
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_bootstrap_key_file_created_private_and_kept(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    settings = make_settings(database_url, nats_server.url, tmp_path)
    key_file = tmp_path / "admin_key"

    first = RegistryServer(settings)
    await first.start()
    await first.stop()
    credentials = key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second = RegistryServer(settings)
    await second.start()
    try:
        assert key_file.read_text().strip() == credentials
        async with grpc.aio.insecure_channel(second.address) as channel:
            who = await registry_pb2_grpc.RegistryStub(channel).WhoAmI(
                registry_pb2.WhoAmIRequest(),
                metadata=(("authorization", f"Key {credentials}"),),
            )
    finally:
        await second.stop()
    assert who.owner == "local"
    assert who.scope == registry_pb2.KEY_SCOPE_ADMIN


async def test_start_without_nats_is_unavailable(
    tmp_path: Path,
) -> None:
    from fal_platform.testing import free_port

    settings = make_settings(
        f"sqlite:///{tmp_path / 'registry.db'}",
        f"nats://127.0.0.1:{free_port()}",
        tmp_path,
    )
    settings.nats_connect_timeout = 1.0

    with pytest.raises(fal_registry.RegistryError, match="Cannot reach NATS"):
        await RegistryServer(settings).start()
