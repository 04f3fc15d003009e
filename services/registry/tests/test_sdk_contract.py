"""fal.sdk's FalServerlessConnection against a real registry, method by method.

The SDK is synchronous; its calls run on a worker thread so that the
registry, served on this test's event loop, can answer them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

import fal
from fal.exceptions import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from fal.sdk import (
    AliasInfo,
    ApplicationInfo,
    DeploymentStrategy,
    EnvironmentInfo,
    FalServerlessClient,
    FalServerlessConnection,
    FalServerlessKeyCredentials,
    KeyScope,
    MachineRequirements,
    RegisterApplicationResult,
    RunnerInfo,
    RunnerState,
    ServerlessSecret,
    UserKeyInfo,
)
from fal_proto import registry_pb2
from fal_registry.testing import FakeControl, FakeScheduler, RunningRegistry

T = TypeVar("T")


class Echo(fal.App, keep_alive=30):
    app_name = "echo"
    requirements = ["pyjokes==0.8.3"]

    @fal.endpoint("/")
    def echo(self, text: str) -> dict:
        return {"text": text}


def connect(registry: RunningRegistry, key: str | None = None) -> Any:
    key_id, _, secret = (key or registry.admin_key).partition(":")
    credentials = FalServerlessKeyCredentials(key_id, secret)
    return FalServerlessClient(registry.server.address, credentials).connect()


async def sdk(
    registry: RunningRegistry,
    call: Callable[[FalServerlessConnection], T],
    key: str | None = None,
) -> T:
    def run() -> T:
        with connect(registry, key) as connection:
            return call(connection)

    return await asyncio.to_thread(run)


def deploy(connection: FalServerlessConnection, **options: Any) -> list:
    return list(
        connection.register(
            Echo,
            None,
            deployment_strategy=options.pop("strategy", DeploymentStrategy.ROLLING),
            **options,
        )
    )


async def test_register_app_class_returns_result_and_urls(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    items = await sdk(
        registry,
        lambda c: deploy(
            c,
            strategy=DeploymentStrategy.RECREATE,
            machine_requirements=MachineRequirements(
                machine_types=["M"], keep_alive=120, max_multiplexing=3
            ),
            metadata={"openapi": {"info": {"title": "echo"}}},
            skip_retry_conditions=["timeout"],
            termination_grace_period_seconds=7,
            environment_name="staging",
            private_logs=True,
        ),
    )

    assert all(isinstance(item, RegisterApplicationResult) for item in items)
    assert any(log.source == "build" for item in items for log in item.logs)
    final = items[-1]
    assert final.result is not None and final.service_urls is not None
    assert final.result.alias == "echo--staging"
    assert final.service_urls.run.endswith("/local/echo--staging")
    resolved = await registry.stub.ResolveApplication(
        registry_pb2.ResolveApplicationRequest(owner="local", alias="echo--staging"),
        metadata=registry.internal,
    )
    assert list(resolved.settings.machine_types) == ["M"]
    assert (resolved.settings.keep_alive, resolved.settings.max_multiplexing) == (
        120,
        3,
    )
    assert list(resolved.skip_retry_conditions) == ["timeout"]
    assert resolved.termination_grace_period_seconds == 7


async def test_list_update_scale_and_delete_application(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await sdk(registry, deploy)

    updated = await sdk(
        registry,
        lambda c: c.update_application(
            "echo", keep_alive=300, min_concurrency=1, valid_regions=["eu"]
        ),
    )
    await sdk(registry, lambda c: c.scale("echo", max_concurrency=3))
    apps = await sdk(registry, lambda c: c.list_applications())

    assert isinstance(updated, AliasInfo) and updated.keep_alive == 300
    assert [type(app) for app in apps] == [ApplicationInfo]
    app = apps[0]
    assert (app.application_id, app.keep_alive, app.max_concurrency) == ("echo", 300, 3)
    assert app.valid_regions == ["eu"] and app.created_at is not None

    await sdk(registry, lambda c: c.delete_application("echo"))
    assert await sdk(registry, lambda c: c.list_applications()) == []
    with pytest.raises(NotFoundError, match="'echo'"):
        await sdk(registry, lambda c: c.delete_application("echo"))


async def test_revisions_and_aliases(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    first = (await sdk(registry, deploy))[-1].result.revision
    second = (await sdk(registry, deploy))[-1].result.revision

    revisions = await sdk(registry, lambda c: c.list_revisions("echo"))
    assert [r.revision for r in revisions] == [second, first]
    moved = await sdk(registry, lambda c: c.set_alias("echo", first))
    assert moved.revision == first
    aliases = await sdk(registry, lambda c: c.list_aliases())
    assert [(a.alias, a.revision) for a in aliases] == [("echo", first)]

    await sdk(registry, lambda c: c.delete_revision(second))
    removed = await sdk(registry, lambda c: c.delete_alias("echo"))
    assert removed == first
    assert await sdk(registry, lambda c: c.list_aliases()) == []


async def test_environments(registry: RunningRegistry) -> None:
    created = await sdk(
        registry, lambda c: c.create_environment("staging", "pre-production")
    )
    listed = await sdk(registry, lambda c: c.list_environments())

    assert isinstance(created, EnvironmentInfo)
    assert created.description == "pre-production"
    assert [(e.name, e.is_default) for e in listed] == [
        ("main", True),
        ("staging", False),
    ]
    await sdk(registry, lambda c: c.delete_environment("staging"))
    with pytest.raises(NotFoundError, match="'staging'"):
        await sdk(registry, lambda c: c.delete_environment("staging"))


async def test_secrets(registry: RunningRegistry) -> None:
    await sdk(registry, lambda c: c.set_secret("HF_TOKEN", "hf_abcdef"))
    listed = await sdk(registry, lambda c: c.list_secrets())

    assert [type(s) for s in listed] == [ServerlessSecret]
    assert listed[0].name == "HF_TOKEN"
    assert datetime.now(UTC) - listed[0].created_at < timedelta(minutes=5)
    assert "hf_abcdef" not in repr(listed)
    await sdk(registry, lambda c: c.delete_secret("HF_TOKEN"))
    assert await sdk(registry, lambda c: c.list_secrets()) == []
    with pytest.raises(InvalidArgumentError, match="'bad-name'"):
        await sdk(registry, lambda c: c.set_secret("bad-name", "x"))


async def test_user_keys(registry: RunningRegistry) -> None:
    key_id, secret = await sdk(
        registry, lambda c: c.create_user_key(KeyScope.API, "ci")
    )
    keys = await sdk(registry, lambda c: c.list_user_keys())

    ours = [key for key in keys if key.key_id == key_id]
    assert ours and isinstance(ours[0], UserKeyInfo)
    assert (ours[0].scope, ours[0].alias) == (KeyScope.API, "ci")
    api_key = f"{key_id}:{secret}"
    with pytest.raises(PermissionDeniedError):
        await sdk(registry, lambda c: c.list_user_keys(), key=api_key)

    await sdk(registry, lambda c: c.revoke_user_key(key_id))
    with pytest.raises(UnauthenticatedError):
        await sdk(registry, lambda c: c.whoami(), key=api_key)


async def test_runners(
    registry: RunningRegistry, scheduler: FakeScheduler, control: FakeControl
) -> None:
    await sdk(registry, deploy)
    control.runners = [
        {
            "runner_id": "r1",
            "owner": "local",
            "alias": "echo",
            "revision": "x",
            "state": "RUNNING",
            "in_flight_requests": 1,
            "uptime_seconds": 61.0,
            "expiration_countdown": None,
            "machine_type": "S",
        }
    ]

    every = await sdk(registry, lambda c: c.list_runners())
    alias = await sdk(
        registry, lambda c: c.list_alias_runners("echo", start_time=datetime.now(UTC))
    )
    await sdk(registry, lambda c: c.stop_runner("r1", replace_first=True))
    await sdk(registry, lambda c: c.kill_runner("r1"))
    await sdk(registry, lambda c: c.rollout_application("echo", force=True))

    assert every == alias
    runner = every[0]
    assert isinstance(runner, RunnerInfo)
    assert (runner.runner_id, runner.state, runner.in_flight_requests) == (
        "r1",
        RunnerState.RUNNING,
        1,
    )
    assert runner.uptime == timedelta(seconds=61)
    assert runner.expiration_countdown is None
    assert [r["action"] for r in control.requests][-3:] == ["stop", "kill", "rollout"]
    with pytest.raises(NotFoundError, match="'ghost'"):
        await sdk(registry, lambda c: c.kill_runner("ghost"))
