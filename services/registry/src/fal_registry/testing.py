"""Helpers for tests that run a registry: a fake scheduler and a client.

Nothing here is used by the registry at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from fal_proto import registry_pb2, registry_pb2_grpc
from fal_registry.config import Settings
from fal_registry.encryption import generate_key
from fal_registry.server import RegistryServer

INTERNAL_TOKEN = "internal-test-token"
GATEWAY_URL = "http://gateway.test:7080"
QUEUE_URL = "http://queue.test:7080"
LOG_TIMESTAMP = "2026-01-02T03:04:05+00:00"


@dataclass
class FakeScheduler:
    """Answers ``fal.scheduler.build`` like the scheduler does, over NATS."""

    client: Any = None
    fail_with: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    log_lines: tuple[str, ...] = ("Resolving requirements", "Installed 3 packages")

    def env_key(self, request: dict[str, Any]) -> str:
        return f"env{len(self.requests):021d}"

    async def handle(self, message: Any) -> None:
        request = json.loads(message.data)
        self.requests.append(request)
        env_key = self.env_key(request)
        await message.respond(
            json.dumps({"accepted": True, "env_key": env_key}).encode()
        )
        client = self.client
        prefix = f"fal.build.{request['build_id']}"
        for line in self.log_lines:
            log = {
                "message": line,
                "level": "INFO",
                "timestamp": LOG_TIMESTAMP,
            }
            await client.publish(f"{prefix}.log", json.dumps(log).encode())
        done: dict[str, Any] = {"ok": True, "env_key": env_key}
        if self.fail_with is not None:
            done = {"ok": False, "error": self.fail_with}
        await client.publish(f"{prefix}.done", json.dumps(done).encode())


@dataclass
class RunningRegistry:
    """A running registry with a client stub and the bootstrap admin key."""

    server: RegistryServer
    stub: registry_pb2_grpc.RegistryStub
    channel: grpc.aio.Channel
    admin_key: str

    def as_user(self, key: str | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Key {key or self.admin_key}"),)

    @property
    def internal(self) -> tuple[tuple[str, str], ...]:
        return (("x-fal-internal-token", INTERNAL_TOKEN),)

    async def register(
        self, name: str = "hello", key: str | None = None, **fields: Any
    ) -> list[registry_pb2.RegisterApplicationResponse]:
        request = registry_pb2.RegisterApplicationRequest(
            application_name=name,
            serialized_function=b"pickled app",
            serialization_method="cloudpickle",
            requirements=[registry_pb2.RequirementStep(packages=["pyjokes==0.8.3"])],
            python_version="3.11",
            endpoints=["/"],
            **fields,
        )
        call = self.stub.RegisterApplication(request, metadata=self.as_user(key))
        return [response async for response in call]


@dataclass
class FakeControl:
    """Answers ``fal.scheduler.control`` from a fixed list of runners."""

    runners: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, message: Any) -> None:
        request = json.loads(message.data)
        self.requests.append(request)
        await message.respond(json.dumps(self.answer(request)).encode())

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        owned = [r for r in self.runners if r["owner"] == request.get("owner")]
        if request["action"] == "list":
            alias = request.get("alias")
            listed = [r for r in owned if alias is None or r["alias"] == alias]
            return {"ok": True, "runners": listed}
        if request["action"] == "rollout":
            count = sum(1 for r in owned if r["alias"] == request["alias"])
            return {"ok": True, "runners": count}
        if any(r["runner_id"] == request.get("runner_id") for r in owned):
            return {"ok": True}
        return {
            "ok": False,
            "error": "not_found",
            "message": f"No runner {request.get('runner_id')!r} is running.",
        }


def write_secrets_key(home: Path) -> Path:
    """A fresh secrets key file in ``home``, as ``fal-platform up`` makes."""
    path = home / "secrets_key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key() + "\n")
        path.chmod(0o600)
    return path


def make_settings(database_url: str, nats_url: str, home: Path) -> Settings:
    return Settings(
        secrets_key_file=write_secrets_key(home),
        database_url=database_url,
        nats_url=nats_url,
        gateway_url=GATEWAY_URL,
        queue_url=QUEUE_URL,
        port=0,
        bootstrap_owner="local",
        bootstrap_key_file=home / "admin_key",
        internal_token=INTERNAL_TOKEN,
        build_ack_timeout=2.0,
        build_timeout=10.0,
    )
