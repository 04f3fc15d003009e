"""Helpers of the scheduler tests: a fake registry, a stand-in runtime."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc

from fal_proto import registry_pb2, registry_pb2_grpc
from fal_scheduler.environments import (
    BuildLogSink,
    BuiltEnvironment,
)
from fal_scheduler.runners import LocalProcessBackend

STAND_IN_DIR = Path(__file__).parent / "stand_in"
INTERNAL_TOKEN = "test-internal-token"
OWNER_KEY = ("key-local", "secret-local")
OTHER_KEY = ("key-other", "secret-other")


class FakeRegistry(registry_pb2_grpc.RegistryServicer):
    """The registry's internal calls, answered from dictionaries."""

    def __init__(self) -> None:
        self.apps: dict[tuple[str, str], registry_pb2.ResolveApplicationResponse] = {}
        self.keys = {OWNER_KEY: "local", OTHER_KEY: "other"}
        self.resolve_calls = 0

    async def ResolveApplication(
        self,
        request: registry_pb2.ResolveApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ResolveApplicationResponse:
        await self._check_token(context)
        self.resolve_calls += 1
        app = self.apps.get((request.owner, request.alias))
        if app is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such app")
        assert app is not None
        return app

    async def Authenticate(
        self,
        request: registry_pb2.AuthenticateRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.AuthenticateResponse:
        await self._check_token(context)
        owner = self.keys.get((request.key_id, request.key_secret))
        if owner is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad key")
        return registry_pb2.AuthenticateResponse(
            owner=owner, key_id=request.key_id, scope=registry_pb2.KEY_SCOPE_API
        )

    async def _check_token(self, context: grpc.aio.ServicerContext) -> None:
        metadata = dict(context.invocation_metadata() or ())
        if metadata.get("x-fal-internal-token") != INTERNAL_TOKEN:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "no token")


def stand_in_app(
    alias: str = "echo",
    revision: str = "rev1",
    owner: str = "local",
    auth_mode: str = "public",
    endpoints: Sequence[str] = (
        "/",
        "/raw",
        "/fail",
        "/invalid",
        "/slow",
        "/exit",
        "/flaky",
    ),
    setup_error: str | None = None,
    setup_seconds: float = 0.0,
    **settings: int,
) -> registry_pb2.ResolveApplicationResponse:
    """A resolution whose payload the stand-in runtime understands."""
    payload = {"setup_error": setup_error, "setup_seconds": setup_seconds}
    return registry_pb2.ResolveApplicationResponse(
        owner=owner,
        alias=alias,
        revision=revision,
        environment_name="main",
        auth_mode=auth_mode,
        serialized_function=json.dumps(payload).encode(),
        serialization_method="cloudpickle",
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
        settings=registry_pb2.MachineRequirements(**settings),
        endpoints=list(endpoints),
    )


class ThisInterpreter:
    """Environment provider that runs runners with the test interpreter."""

    def __init__(self) -> None:
        self.calls = 0

    async def ensure(
        self,
        requirements: Sequence[Sequence[str]],
        python_version: str,
        on_log: BuildLogSink | None = None,
    ) -> BuiltEnvironment:
        self.calls += 1
        return BuiltEnvironment("test", Path(sys.executable).parent.parent)


def stand_in_backend(home: Path) -> LocalProcessBackend:
    return LocalProcessBackend(
        home,
        runtime_module="stand_in_runtime",
        extra_env={"PYTHONPATH": str(STAND_IN_DIR)},
    )


def runner_logs(home: Path) -> list[Path]:
    """One log file per runner ever started."""
    return sorted((home / "logs" / "runners").glob("*.log"))
