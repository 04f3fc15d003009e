"""Registering, listing and deleting apps through a running registry."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from fal_proto import registry_pb2
from fal_registry import KeyScope
from fal_registry.testing import GATEWAY_URL, QUEUE_URL, FakeScheduler, RunningRegistry


def logs_of(responses: list[registry_pb2.RegisterApplicationResponse]) -> list:
    return [response.log for response in responses if response.HasField("log")]


async def wait_for(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.02)


async def test_register_streams_build_logs_then_result(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    responses = await registry.register("hello")

    build_lines = [log.message for log in logs_of(responses) if log.source == "build"]
    assert build_lines == ["Resolving requirements", "Installed 3 packages"]
    assert any(log.source == "registry" for log in logs_of(responses))
    assert [r.WhichOneof("item") for r in responses][-1] == "result"
    result = responses[-1].result
    assert result.owner == "local"
    assert result.alias == "hello"
    assert result.environment_name == "main"
    assert result.env_key == "env000000000000000000001"
    assert result.revision
    assert result.service_urls.run == f"{GATEWAY_URL}/local/hello"
    assert result.service_urls.ws == "ws://gateway.test:7080/local/hello"
    assert result.service_urls.queue == f"{QUEUE_URL}/local/hello"
    assert scheduler.requests[0]["requirements"] == [["pyjokes==0.8.3"]]
    assert scheduler.requests[0]["python_version"] == "3.11"


async def test_register_twice_creates_two_revisions_alias_on_later(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    first = (await registry.register("hello"))[-1].result
    second = (await registry.register("hello"))[-1].result

    assert first.revision != second.revision
    aliases = await registry.stub.ListAliases(
        registry_pb2.ListAliasesRequest(), metadata=registry.as_user()
    )
    assert [(a.alias, a.revision) for a in aliases.aliases] == [
        ("hello", second.revision)
    ]
    store = registry.server.store
    assert store is not None
    deployment = store.resolve("local", "hello")
    assert deployment.revision.id == second.revision


async def test_register_build_failure_registers_nothing(
    registry: RunningRegistry, scheduler: FakeScheduler, events: list
) -> None:
    scheduler.fail_with = "No matching distribution found for nonexistent==9"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.register("broken")

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "No matching distribution found" in (raised.value.details() or "")
    listed = await registry.stub.ListApplications(
        registry_pb2.ListApplicationsRequest(), metadata=registry.as_user()
    )
    assert list(listed.applications) == []
    await asyncio.sleep(0.2)
    assert events == []


async def test_register_without_scheduler_is_unavailable(
    registry: RunningRegistry, nats_server
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.register("hello")

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "no scheduler answered build requests on" in (raised.value.details() or "")
    assert nats_server.url in (raised.value.details() or "")


async def test_register_publishes_deployed_event(
    registry: RunningRegistry, scheduler: FakeScheduler, events: list
) -> None:
    result = (await registry.register("hello", environment_name="staging"))[-1].result

    await wait_for(lambda: len(events) == 1)
    assert events[0] == (
        "fal.apps.deployed",
        {
            "owner": "local",
            "alias": "hello--staging",
            "revision": result.revision,
            "environment_name": "staging",
            "env_key": result.env_key,
            "deployment_strategy": "rolling",
        },
    )


async def test_list_applications_returns_effective_settings(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register(
        "alpha",
        machine_requirements=registry_pb2.MachineRequirements(
            keep_alive=300, machine_types=["GPU-A100"]
        ),
    )
    await registry.register("beta", auth_mode="public")
    await registry.register("gamma", environment_name="staging")

    listed = await registry.stub.ListApplications(
        registry_pb2.ListApplicationsRequest(), metadata=registry.as_user()
    )
    by_name = {app.application_id: app for app in listed.applications}
    assert sorted(by_name) == ["alpha", "beta"]
    assert by_name["alpha"].keep_alive == 300
    assert list(by_name["alpha"].machine_types) == ["GPU-A100"]
    assert by_name["beta"].keep_alive == 60
    assert by_name["beta"].max_concurrency == 10
    assert by_name["beta"].auth_mode == "public"
    assert list(by_name["beta"].endpoints) == ["/"]

    one = await registry.stub.ListApplications(
        registry_pb2.ListApplicationsRequest(application_name="alpha"),
        metadata=registry.as_user(),
    )
    assert [app.application_id for app in one.applications] == ["alpha"]
    staging = await registry.stub.ListAliases(
        registry_pb2.ListAliasesRequest(environment_name="staging"),
        metadata=registry.as_user(),
    )
    assert [alias.alias for alias in staging.aliases] == ["gamma--staging"]


async def test_delete_application_then_not_found(
    registry: RunningRegistry, scheduler: FakeScheduler, events: list
) -> None:
    await registry.register("hello")
    request = registry_pb2.DeleteApplicationRequest(application_name="hello")

    await registry.stub.DeleteApplication(request, metadata=registry.as_user())

    listed = await registry.stub.ListAliases(
        registry_pb2.ListAliasesRequest(), metadata=registry.as_user()
    )
    assert list(listed.aliases) == []
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.stub.DeleteApplication(request, metadata=registry.as_user())
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "'hello'" in (raised.value.details() or "")
    await wait_for(lambda: len(events) == 2)
    assert events[1] == (
        "fal.apps.deleted",
        {"owner": "local", "alias": "hello", "environment_name": "main"},
    )


@pytest.mark.parametrize("name", ["bad--name", "-leading", "a" * 64, "white space"])
async def test_register_invalid_name_is_invalid_argument(
    registry: RunningRegistry, scheduler: FakeScheduler, name: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.register(name)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert repr(name) in (raised.value.details() or "")
    assert scheduler.requests == []


async def test_register_with_api_key_is_permission_denied(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    store = registry.server.store
    assert store is not None
    api_key = store.create_key("local", KeyScope.API).credentials

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.register("hello", key=api_key)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.stub.DeleteApplication(
            registry_pb2.DeleteApplicationRequest(application_name="hello"),
            metadata=registry.as_user(api_key),
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    who = await registry.stub.WhoAmI(
        registry_pb2.WhoAmIRequest(), metadata=registry.as_user(api_key)
    )
    assert who.scope == registry_pb2.KEY_SCOPE_API


async def test_runtime_scaling_overrides_survive_redeploy_until_reset(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("hello")
    store = registry.server.store
    assert store is not None
    _set_overrides(store, {"keep_alive": 900, "max_multiplexing": 7})

    await registry.register("hello")
    resolved = await registry.stub.ResolveApplication(
        registry_pb2.ResolveApplicationRequest(owner="local", alias="hello"),
        metadata=registry.internal,
    )
    # keep_alive is a run-time setting; max_multiplexing belongs to the code.
    assert resolved.settings.keep_alive == 900
    assert resolved.settings.max_multiplexing == 1

    await registry.register("hello", reset_scale=True)
    resolved = await registry.stub.ResolveApplication(
        registry_pb2.ResolveApplicationRequest(owner="local", alias="hello"),
        metadata=registry.internal,
    )
    assert resolved.settings.keep_alive == 60


def _set_overrides(store, overrides: dict) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import Session, select

    from fal_registry.models import Application

    with Session(store.engine) as session:
        application = session.exec(select(Application)).one()
        application.scaling_overrides = overrides
        session.add(application)
        session.commit()
