"""Keys, scopes and the internal token, checked through a running registry."""

from __future__ import annotations

import grpc
import pytest

from fal_proto import registry_pb2
from fal_registry.testing import FakeScheduler, RunningRegistry


async def test_whoami_without_key_is_unauthenticated(
    registry: RunningRegistry,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.stub.WhoAmI(registry_pb2.WhoAmIRequest())

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "No key was sent" in (raised.value.details() or "")


@pytest.mark.parametrize("wrong", ["wrong-secret", "", "no-colon"])
async def test_register_with_wrong_key_is_unauthenticated(
    registry: RunningRegistry, scheduler: FakeScheduler, wrong: str
) -> None:
    key_id = registry.admin_key.partition(":")[0]
    key = f"{key_id}:{wrong}" if wrong != "no-colon" else key_id

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.register("hello", key=key)

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert scheduler.requests == []


async def test_whoami_with_admin_key_returns_owner(registry: RunningRegistry) -> None:
    who = await registry.stub.WhoAmI(
        registry_pb2.WhoAmIRequest(), metadata=registry.as_user()
    )

    assert who.owner == "local"
    assert who.key_id == registry.admin_key.partition(":")[0]
    assert who.scope == registry_pb2.KEY_SCOPE_ADMIN


@pytest.mark.parametrize("token", [None, "not-the-token"])
async def test_internal_calls_without_token_are_unauthenticated(
    registry: RunningRegistry, token: str | None
) -> None:
    metadata = (("x-fal-internal-token", token),) if token else registry.as_user()
    key_id, _, secret = registry.admin_key.partition(":")
    calls = [
        registry.stub.ResolveApplication(
            registry_pb2.ResolveApplicationRequest(owner="local", alias="hello"),
            metadata=metadata,
        ),
        registry.stub.Authenticate(
            registry_pb2.AuthenticateRequest(key_id=key_id, key_secret=secret),
            metadata=metadata,
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_authenticate_with_internal_token_checks_key(
    registry: RunningRegistry,
) -> None:
    key_id, _, secret = registry.admin_key.partition(":")

    answer = await registry.stub.Authenticate(
        registry_pb2.AuthenticateRequest(key_id=key_id, key_secret=secret),
        metadata=registry.internal,
    )
    assert (answer.owner, answer.key_id) == ("local", key_id)
    assert answer.scope == registry_pb2.KEY_SCOPE_ADMIN

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.stub.Authenticate(
            registry_pb2.AuthenticateRequest(key_id=key_id, key_secret="x" + secret),
            metadata=registry.internal,
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_resolve_with_internal_token_returns_revision_and_defaults(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    result = (
        await registry.register(
            "hello",
            environment_name="staging",
            skip_retry_conditions=["timeout"],
            termination_grace_period_seconds=12,
            health_check_config=registry_pb2.HealthCheckConfig(path="/health"),
            machine_requirements=registry_pb2.MachineRequirements(max_multiplexing=4),
        )
    )[-1].result

    resolved = await registry.stub.ResolveApplication(
        registry_pb2.ResolveApplicationRequest(owner="local", alias="hello--staging"),
        metadata=registry.internal,
    )

    assert resolved.revision == result.revision
    assert resolved.environment_name == "staging"
    assert resolved.serialized_function == b"pickled app"
    assert [list(step.packages) for step in resolved.requirements] == [
        ["pyjokes==0.8.3"]
    ]
    assert resolved.env_key == result.env_key
    assert resolved.termination_grace_period_seconds == 12
    assert resolved.health_check_config.path == "/health"
    assert list(resolved.skip_retry_conditions) == ["timeout"]
    settings = resolved.settings
    assert (settings.keep_alive, settings.max_multiplexing) == (60, 4)
    assert (settings.min_concurrency, settings.max_concurrency) == (0, 10)
    assert (settings.request_timeout, settings.startup_timeout) == (3600, 600)
    assert list(settings.machine_types) == ["S"]


async def test_resolve_unknown_alias_is_not_found(registry: RunningRegistry) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.stub.ResolveApplication(
            registry_pb2.ResolveApplicationRequest(owner="local", alias="missing"),
            metadata=registry.internal,
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "local/missing" in (raised.value.details() or "")
