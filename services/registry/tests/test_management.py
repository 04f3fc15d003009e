"""Revisions, aliases, settings, environments, secrets, keys and runners."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import grpc
import nats
import pytest
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from fal_platform.testing import NatsServer
from fal_proto import registry_pb2
from fal_registry import KeyScope
from fal_registry.testing import FakeControl, FakeScheduler, RunningRegistry


async def expect_error(call, code: grpc.StatusCode) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() == code, raised.value.details()
    return raised.value.details() or ""


def new_key(registry: RunningRegistry, scope: KeyScope, owner: str = "local") -> str:
    store = registry.server.store
    assert store is not None
    return store.create_key(owner, scope).credentials


async def resolve(registry: RunningRegistry, alias: str = "hello"):  # type: ignore[no-untyped-def]
    return await registry.stub.ResolveApplication(
        registry_pb2.ResolveApplicationRequest(owner="local", alias=alias),
        metadata=registry.internal,
    )


# Revisions and aliases


async def test_list_revisions_newest_first_with_alias(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    first = (await registry.register("hello"))[-1].result
    second = (await registry.register("hello"))[-1].result

    listed = await registry.stub.ListRevisions(
        registry_pb2.ListRevisionsRequest(application_name="hello"),
        metadata=registry.as_user(),
    )

    revisions = [(r.revision, list(r.aliases)) for r in listed.revisions]
    assert revisions == [(second.revision, ["hello"]), (first.revision, [])]
    assert listed.revisions[0].deployment_strategy == "rolling"


async def test_set_alias_moves_alias_to_older_revision(
    registry: RunningRegistry, scheduler: FakeScheduler, events: list
) -> None:
    first = (await registry.register("hello"))[-1].result
    await registry.register("hello")

    alias = await registry.stub.SetAlias(
        registry_pb2.SetAliasRequest(application_name="hello", revision=first.revision),
        metadata=registry.as_user(),
    )

    assert alias.revision == first.revision
    assert (await resolve(registry)).revision == first.revision
    await asyncio.sleep(0.1)
    assert events[-1][0] == "fal.apps.deployed"
    assert events[-1][1]["revision"] == first.revision


async def test_set_alias_unknown_revision_is_not_found(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    current = (await registry.register("hello"))[-1].result
    details = await expect_error(
        registry.stub.SetAlias(
            registry_pb2.SetAliasRequest(application_name="hello", revision="nope"),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "'nope'" in details
    assert (await resolve(registry)).revision == current.revision


async def test_delete_revision_served_by_alias_is_refused(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    first = (await registry.register("hello"))[-1].result
    second = (await registry.register("hello"))[-1].result

    details = await expect_error(
        registry.stub.DeleteRevision(
            registry_pb2.DeleteRevisionRequest(revision=second.revision),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert second.revision in details
    await registry.stub.DeleteRevision(
        registry_pb2.DeleteRevisionRequest(revision=first.revision),
        metadata=registry.as_user(),
    )
    listed = await registry.stub.ListRevisions(
        registry_pb2.ListRevisionsRequest(application_name="hello"),
        metadata=registry.as_user(),
    )
    assert [r.revision for r in listed.revisions] == [second.revision]
    await expect_error(
        registry.stub.DeleteRevision(
            registry_pb2.DeleteRevisionRequest(revision=first.revision),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_delete_alias_returns_revision_and_unroutes(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    result = (await registry.register("hello", environment_name="staging"))[-1].result

    deleted = await registry.stub.DeleteAlias(
        registry_pb2.DeleteAliasRequest(alias="hello", environment_name="staging"),
        metadata=registry.as_user(),
    )

    assert deleted.revision == result.revision
    await expect_error(resolve(registry, "hello--staging"), grpc.StatusCode.NOT_FOUND)
    # The revision stays and can be served again.
    await registry.stub.SetAlias(
        registry_pb2.SetAliasRequest(
            application_name="hello",
            revision=result.revision,
            environment_name="staging",
        ),
        metadata=registry.as_user(),
    )
    assert (await resolve(registry, "hello--staging")).revision == result.revision


async def test_concurrent_deploys_make_two_revisions_alias_on_later(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    results = await asyncio.gather(
        registry.register("hello"), registry.register("hello")
    )

    revisions = {responses[-1].result.revision for responses in results}
    listed = await registry.stub.ListRevisions(
        registry_pb2.ListRevisionsRequest(application_name="hello"),
        metadata=registry.as_user(),
    )
    assert {r.revision for r in listed.revisions} == revisions
    assert len(revisions) == 2
    assert (await resolve(registry)).revision == listed.revisions[0].revision


# Run-time settings


async def test_update_application_changes_settings_that_survive_redeploy(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register(
        "hello",
        machine_requirements=registry_pb2.MachineRequirements(
            machine_types=["S"], max_multiplexing=2
        ),
    )
    updated = await registry.stub.UpdateApplication(
        registry_pb2.UpdateApplicationRequest(
            application_name="hello",
            settings=registry_pb2.MachineRequirements(
                keep_alive=300,
                min_concurrency=1,
                max_concurrency=4,
                concurrency_buffer=2,
                concurrency_buffer_perc=50,
                scaling_delay=3,
                request_timeout=30,
                valid_regions=["eu"],
                max_multiplexing=8,
                startup_timeout=90,
                machine_types=["GPU-A100"],
            ),
        ),
        metadata=registry.as_user(),
    )
    assert (updated.keep_alive, updated.max_multiplexing) == (300, 8)
    assert list(updated.machine_types) == ["GPU-A100"]

    await registry.register(
        "hello",
        machine_requirements=registry_pb2.MachineRequirements(
            machine_types=["S"], max_multiplexing=2
        ),
    )

    settings = (await resolve(registry)).settings
    runtime = (
        settings.keep_alive, settings.min_concurrency, settings.max_concurrency,
        settings.concurrency_buffer, settings.concurrency_buffer_perc,
        settings.scaling_delay, settings.request_timeout, list(settings.valid_regions),
    )  # fmt: skip
    assert runtime == (300, 1, 4, 2, 50, 3, 30, ["eu"])
    # Code-owned settings come back from the code on each deploy.
    assert (settings.max_multiplexing, settings.startup_timeout) == (2, 600)
    assert list(settings.machine_types) == ["S"]


async def test_update_application_invalid_value_changes_nothing(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("hello")
    cases = [
        registry_pb2.MachineRequirements(keep_alive=-1),
        registry_pb2.MachineRequirements(min_concurrency=20),
        registry_pb2.MachineRequirements(concurrency_buffer_perc=101),
        registry_pb2.MachineRequirements(max_multiplexing=0),
    ]
    for settings in cases:
        details = await expect_error(
            registry.stub.UpdateApplication(
                registry_pb2.UpdateApplicationRequest(
                    application_name="hello", settings=settings
                ),
                metadata=registry.as_user(),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert any(name in details for name in settings.DESCRIPTOR.fields_by_name)

    settings = (await resolve(registry)).settings
    assert (settings.keep_alive, settings.min_concurrency) == (60, 0)


async def test_update_unknown_application_is_not_found(
    registry: RunningRegistry,
) -> None:
    details = await expect_error(
        registry.stub.UpdateApplication(
            registry_pb2.UpdateApplicationRequest(application_name="ghost"),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "'ghost'" in details


# Environments


async def test_environments_create_list_delete(
    registry: RunningRegistry,
) -> None:
    created = await registry.stub.CreateEnvironment(
        registry_pb2.CreateEnvironmentRequest(name="staging", description="pre-prod"),
        metadata=registry.as_user(),
    )
    assert (created.name, created.is_default) == ("staging", False)

    listed = await registry.stub.ListEnvironments(
        registry_pb2.ListEnvironmentsRequest(), metadata=registry.as_user()
    )
    assert [(e.name, e.is_default) for e in listed.environments] == [
        ("main", True),
        ("staging", False),
    ]
    await expect_error(
        registry.stub.CreateEnvironment(
            registry_pb2.CreateEnvironmentRequest(name="staging"),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.ALREADY_EXISTS,
    )

    await registry.stub.DeleteEnvironment(
        registry_pb2.DeleteEnvironmentRequest(name="staging"),
        metadata=registry.as_user(),
    )
    listed = await registry.stub.ListEnvironments(
        registry_pb2.ListEnvironmentsRequest(), metadata=registry.as_user()
    )
    assert [e.name for e in listed.environments] == ["main"]


async def test_delete_main_environment_is_refused(registry: RunningRegistry) -> None:
    details = await expect_error(
        registry.stub.DeleteEnvironment(
            registry_pb2.DeleteEnvironmentRequest(name="main"),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "'main'" in details


async def test_delete_environment_with_apps_is_refused(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("hello", environment_name="staging")

    details = await expect_error(
        registry.stub.DeleteEnvironment(
            registry_pb2.DeleteEnvironmentRequest(name="staging"),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "hello" in details
    assert (await resolve(registry, "hello--staging")).environment_name == "staging"


@pytest.mark.parametrize(
    ("call", "request_type"),
    [
        ("ListApplications", registry_pb2.ListApplicationsRequest),
        ("ListSecrets", registry_pb2.ListSecretsRequest),
    ],
)
async def test_unknown_environment_is_not_found(
    registry: RunningRegistry, call: str, request_type: type
) -> None:
    details = await expect_error(
        getattr(registry.stub, call)(
            request_type(environment_name="nowhere"), metadata=registry.as_user()
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "'nowhere'" in details
    details = await expect_error(
        registry.stub.DeleteEnvironment(
            registry_pb2.DeleteEnvironmentRequest(name="nowhere"),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "'nowhere'" in details


# Secrets


async def test_secrets_are_encrypted_listed_without_values_and_resolved(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("hello")
    value = "sk-very-secret-value-1234"
    await registry.stub.SetSecret(
        registry_pb2.SetSecretRequest(name="API_TOKEN", value=value),
        metadata=registry.as_user(),
    )

    listed = await registry.stub.ListSecrets(
        registry_pb2.ListSecretsRequest(), metadata=registry.as_user()
    )
    assert [s.name for s in listed.secrets] == ["API_TOKEN"]
    assert value not in str(listed)
    assert listed.secrets[0].HasField("created_at")
    store = registry.server.store
    assert store is not None
    with store.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT ciphertext FROM secrets")).scalar()
    assert stored and value not in stored
    resolved = await resolve(registry)
    assert [(s.name, s.value) for s in resolved.secrets] == [("API_TOKEN", value)]


async def test_secrets_are_per_environment(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("hello", environment_name="staging")
    await registry.stub.SetSecret(
        registry_pb2.SetSecretRequest(name="ONLY_MAIN", value="m"),
        metadata=registry.as_user(),
    )
    await registry.stub.SetSecret(
        registry_pb2.SetSecretRequest(
            name="ONLY_STAGING", value="s", environment_name="staging"
        ),
        metadata=registry.as_user(),
    )

    resolved = await resolve(registry, "hello--staging")

    assert [(s.name, s.value) for s in resolved.secrets] == [("ONLY_STAGING", "s")]


async def test_secret_set_twice_keeps_latest_and_delete_removes(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("hello")
    for value in ("one", "two"):
        await registry.stub.SetSecret(
            registry_pb2.SetSecretRequest(name="TOKEN", value=value),
            metadata=registry.as_user(),
        )
    assert [(s.name, s.value) for s in (await resolve(registry)).secrets] == [
        ("TOKEN", "two")
    ]

    await registry.stub.DeleteSecret(
        registry_pb2.DeleteSecretRequest(name="TOKEN"), metadata=registry.as_user()
    )

    assert list((await resolve(registry)).secrets) == []
    details = await expect_error(
        registry.stub.DeleteSecret(
            registry_pb2.DeleteSecretRequest(name="TOKEN"), metadata=registry.as_user()
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "'TOKEN'" in details


@pytest.mark.parametrize("name", ["1ABC", "HAS-DASH", "", "FAL_RUNNER_ID", "A" * 129])
async def test_set_secret_invalid_name_is_invalid_argument(
    registry: RunningRegistry, name: str
) -> None:
    details = await expect_error(
        registry.stub.SetSecret(
            registry_pb2.SetSecretRequest(name=name, value="x"),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert repr(name) in details
    listed = await registry.stub.ListSecrets(
        registry_pb2.ListSecretsRequest(), metadata=registry.as_user()
    )
    assert list(listed.secrets) == []


async def test_set_secret_unknown_environment_is_not_found(
    registry: RunningRegistry,
) -> None:
    details = await expect_error(
        registry.stub.SetSecret(
            registry_pb2.SetSecretRequest(
                name="X", value="y", environment_name="nowhere"
            ),
            metadata=registry.as_user(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "'nowhere'" in details


# Keys


async def test_keys_create_list_revoke(registry: RunningRegistry) -> None:
    created = await registry.stub.CreateKey(
        registry_pb2.CreateKeyRequest(scope=registry_pb2.KEY_SCOPE_API, alias="ci"),
        metadata=registry.as_user(),
    )
    assert created.key_id and len(created.key_secret) >= 32
    credentials = f"{created.key_id}:{created.key_secret}"
    who = await registry.stub.WhoAmI(
        registry_pb2.WhoAmIRequest(), metadata=registry.as_user(credentials)
    )
    assert who.scope == registry_pb2.KEY_SCOPE_API

    listed = await registry.stub.ListKeys(
        registry_pb2.ListKeysRequest(), metadata=registry.as_user()
    )
    by_id = {key.key_id: key for key in listed.keys}
    assert by_id[created.key_id].alias == "ci"
    assert by_id[created.key_id].scope == registry_pb2.KEY_SCOPE_API
    assert created.key_secret not in str(listed)
    store = registry.server.store
    assert store is not None
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM api_keys")).all()
    assert created.key_secret not in str(rows)

    await registry.stub.RevokeKey(
        registry_pb2.RevokeKeyRequest(key_id=created.key_id),
        metadata=registry.as_user(),
    )

    await expect_error(
        registry.stub.WhoAmI(
            registry_pb2.WhoAmIRequest(), metadata=registry.as_user(credentials)
        ),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    listed = await registry.stub.ListKeys(
        registry_pb2.ListKeysRequest(), metadata=registry.as_user()
    )
    assert created.key_id not in {key.key_id for key in listed.keys}


async def test_revoke_key_and_secret_change_are_announced_on_nats(
    registry: RunningRegistry, nats_server: NatsServer
) -> None:
    received: list[dict] = []

    async def record(message: Any) -> None:
        received.append(json.loads(message.data))

    client = await nats.connect(nats_server.url)
    await client.subscribe("fal.keys.revoked", cb=record)
    await client.subscribe("fal.secrets.changed", cb=record)
    await client.flush()
    key_id = new_key(registry, KeyScope.API).partition(":")[0]

    await registry.stub.RevokeKey(
        registry_pb2.RevokeKeyRequest(key_id=key_id), metadata=registry.as_user()
    )
    await registry.stub.SetSecret(
        registry_pb2.SetSecretRequest(name="TOKEN", value="hidden"),
        metadata=registry.as_user(),
    )

    deadline = asyncio.get_running_loop().time() + 5
    while len(received) < 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    await client.close()
    assert received == [
        {"key_id": key_id},
        {"owner": "local", "environment_name": "main"},
    ]


async def test_create_key_without_scope_is_invalid_argument(
    registry: RunningRegistry,
) -> None:
    details = await expect_error(
        registry.stub.CreateKey(
            registry_pb2.CreateKeyRequest(), metadata=registry.as_user()
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "scope" in details


async def test_revoke_unknown_or_foreign_key_is_not_found(
    registry: RunningRegistry,
) -> None:
    foreign = new_key(registry, KeyScope.ADMIN, owner="other").partition(":")[0]
    for key_id in ("no-such-key", foreign):
        details = await expect_error(
            registry.stub.RevokeKey(
                registry_pb2.RevokeKeyRequest(key_id=key_id),
                metadata=registry.as_user(),
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert repr(key_id) in details
    store = registry.server.store
    assert store is not None
    key = store.find_key(foreign)
    assert key is not None and key.revoked_at is None


async def test_api_key_may_not_manage_keys_secrets_or_settings(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("hello")
    api = registry.as_user(new_key(registry, KeyScope.API))
    calls = [
        registry.stub.CreateKey(
            registry_pb2.CreateKeyRequest(scope=registry_pb2.KEY_SCOPE_API),
            metadata=api,
        ),
        registry.stub.ListKeys(registry_pb2.ListKeysRequest(), metadata=api),
        registry.stub.RevokeKey(
            registry_pb2.RevokeKeyRequest(key_id="x"), metadata=api
        ),
        registry.stub.SetSecret(
            registry_pb2.SetSecretRequest(name="X", value="y"), metadata=api
        ),
        registry.stub.ListSecrets(registry_pb2.ListSecretsRequest(), metadata=api),
        registry.stub.DeleteSecret(
            registry_pb2.DeleteSecretRequest(name="X"), metadata=api
        ),
        registry.stub.UpdateApplication(
            registry_pb2.UpdateApplicationRequest(application_name="hello"),
            metadata=api,
        ),
        registry.stub.CreateEnvironment(
            registry_pb2.CreateEnvironmentRequest(name="x"), metadata=api
        ),
        registry.stub.KillRunner(
            registry_pb2.KillRunnerRequest(runner_id="r"), metadata=api
        ),
    ]
    for call in calls:
        details = await expect_error(call, grpc.StatusCode.PERMISSION_DENIED)
        assert "API" in details


async def test_other_owner_cannot_see_or_touch_app(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    result = (await registry.register("hello"))[-1].result
    other = registry.as_user(new_key(registry, KeyScope.ADMIN, owner="mallory"))

    listed = await registry.stub.ListApplications(
        registry_pb2.ListApplicationsRequest(), metadata=other
    )
    assert list(listed.applications) == []
    calls = [
        registry.stub.DeleteApplication(
            registry_pb2.DeleteApplicationRequest(application_name="hello"),
            metadata=other,
        ),
        registry.stub.UpdateApplication(
            registry_pb2.UpdateApplicationRequest(application_name="hello"),
            metadata=other,
        ),
        registry.stub.DeleteRevision(
            registry_pb2.DeleteRevisionRequest(revision=result.revision),
            metadata=other,
        ),
        registry.stub.ListRevisions(
            registry_pb2.ListRevisionsRequest(application_name="hello"),
            metadata=other,
        ),
    ]
    for call in calls:
        await expect_error(call, grpc.StatusCode.NOT_FOUND)
    assert (await resolve(registry)).revision == result.revision


# Runners (the scheduler's live state over NATS)


def runner(runner_id: str, alias: str, owner: str = "local", **extra) -> dict:  # type: ignore[no-untyped-def]
    return {
        "runner_id": runner_id,
        "owner": owner,
        "alias": alias,
        "revision": "rev",
        "state": "IDLE",
        "in_flight_requests": 0,
        "uptime_seconds": 12.5,
        "expiration_countdown": 40,
        "machine_type": "S",
        **extra,
    }


async def test_list_runners_answers_from_scheduler(
    registry: RunningRegistry, scheduler: FakeScheduler, control: FakeControl
) -> None:
    await registry.register("hello")
    await registry.register("hello", environment_name="staging")
    control.runners = [
        runner("r1", "hello"),
        runner("r2", "hello--staging", state="RUNNING", in_flight_requests=2),
        runner("r3", "hello", state="PENDING"),
        runner("x1", "hello", owner="mallory"),
    ]

    every = await registry.stub.ListRunners(
        registry_pb2.ListRunnersRequest(list_pending=True),
        metadata=registry.as_user(),
    )
    assert sorted(r.runner_id for r in every.runners) == ["r1", "r2", "r3"]
    staging = await registry.stub.ListRunners(
        registry_pb2.ListRunnersRequest(alias="hello", environment_name="staging"),
        metadata=registry.as_user(),
    )
    assert [(r.runner_id, r.state, r.in_flight_requests) for r in staging.runners] == [
        ("r2", "RUNNING", 2)
    ]
    assert staging.runners[0].environment_name == "staging"
    main = await registry.stub.ListRunners(
        registry_pb2.ListRunnersRequest(alias="hello"), metadata=registry.as_user()
    )
    assert [r.runner_id for r in main.runners] == ["r1"]
    assert main.runners[0].expiration_countdown == 40
    assert main.runners[0].uptime_seconds == 12.5

    apps = await registry.stub.ListApplications(
        registry_pb2.ListApplicationsRequest(), metadata=registry.as_user()
    )
    assert apps.applications[0].active_runners == 2
    aliases = await registry.stub.ListAliases(
        registry_pb2.ListAliasesRequest(), metadata=registry.as_user()
    )
    assert aliases.aliases[0].active_runners == 2


async def test_list_runners_passes_start_time(
    registry: RunningRegistry, control: FakeControl
) -> None:
    await registry.stub.ListRunners(
        registry_pb2.ListRunnersRequest(start_time=Timestamp(seconds=1_700_000_000)),
        metadata=registry.as_user(),
    )

    assert control.requests[-1]["since"].startswith("2023-11-14T22:13:20")


async def test_kill_and_stop_runner_reach_scheduler(
    registry: RunningRegistry, control: FakeControl
) -> None:
    control.runners = [runner("r1", "hello")]

    await registry.stub.KillRunner(
        registry_pb2.KillRunnerRequest(runner_id="r1"), metadata=registry.as_user()
    )
    await registry.stub.StopRunner(
        registry_pb2.StopRunnerRequest(runner_id="r1", replace_first=True),
        metadata=registry.as_user(),
    )

    assert [(r["action"], r["runner_id"]) for r in control.requests] == [
        ("kill", "r1"),
        ("stop", "r1"),
    ]
    assert control.requests[1]["replace_first"] is True
    assert control.requests[0]["owner"] == "local"


async def test_kill_unknown_or_foreign_runner_is_not_found(
    registry: RunningRegistry, control: FakeControl
) -> None:
    control.runners = [runner("x1", "hello", owner="mallory")]

    for runner_id in ("nope", "x1"):
        details = await expect_error(
            registry.stub.KillRunner(
                registry_pb2.KillRunnerRequest(runner_id=runner_id),
                metadata=registry.as_user(),
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert repr(runner_id) in details


async def test_rollout_asks_scheduler_to_replace_runners(
    registry: RunningRegistry, scheduler: FakeScheduler, control: FakeControl
) -> None:
    await registry.register("hello")
    control.runners = [runner("r1", "hello"), runner("r2", "hello")]

    answer = await registry.stub.RolloutApplication(
        registry_pb2.RolloutApplicationRequest(application_name="hello", force=True),
        metadata=registry.as_user(),
    )

    assert answer.runners == 2
    assert control.requests[-1] == {
        "action": "rollout",
        "owner": "local",
        "alias": "hello",
        "force": True,
    }


async def test_list_runners_without_scheduler_is_unavailable(
    registry: RunningRegistry, nats_server
) -> None:  # type: ignore[no-untyped-def]
    details = await expect_error(
        registry.stub.ListRunners(
            registry_pb2.ListRunnersRequest(), metadata=registry.as_user()
        ),
        grpc.StatusCode.UNAVAILABLE,
    )
    assert nats_server.url in details


# Nothing secret is logged


async def test_no_secret_or_key_secret_in_logs_or_listings(
    registry: RunningRegistry,
    scheduler: FakeScheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await registry.register("hello")
    value = "s3cr3t-value-that-must-not-leak"
    await registry.stub.SetSecret(
        registry_pb2.SetSecretRequest(name="LEAK_TEST", value=value),
        metadata=registry.as_user(),
    )
    created = await registry.stub.CreateKey(
        registry_pb2.CreateKeyRequest(scope=registry_pb2.KEY_SCOPE_ADMIN, alias="x"),
        metadata=registry.as_user(),
    )
    credentials = f"{created.key_id}:{created.key_secret}"
    listings = [
        await registry.stub.ListSecrets(
            registry_pb2.ListSecretsRequest(), metadata=registry.as_user(credentials)
        ),
        await registry.stub.ListKeys(
            registry_pb2.ListKeysRequest(), metadata=registry.as_user(credentials)
        ),
        await registry.stub.ListApplications(
            registry_pb2.ListApplicationsRequest(),
            metadata=registry.as_user(credentials),
        ),
    ]
    await resolve(registry)

    admin_secret = registry.admin_key.partition(":")[2]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "LEAK_TEST" in logged  # the names are logged ...
    for secret in (value, created.key_secret, admin_secret):
        assert secret not in logged  # ... never the values
        assert all(secret not in str(listing) for listing in listings)
