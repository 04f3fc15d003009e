"""A real pickled fal.App, in a real environment, behind the gateway.

No `from __future__ import annotations` here: the App below is pickled by
value and its endpoint annotations must be objects, not names.
"""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import cloudpickle
import httpx
import pytest
from pydantic import BaseModel
from scheduler_helpers import INTERNAL_TOKEN, FakeRegistry

import fal
from fal_platform.testing import NatsServer
from fal_proto import registry_pb2
from fal_scheduler.environments import EnvironmentBuilder, find_fal_sources
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import PoolDefaults
from fal_scheduler.service import Scheduler, SchedulerConfig


def greeter_payload(fail_setup: bool) -> bytes:
    # Defined locally so that cloudpickle serializes the class by value.
    class Person(BaseModel):
        name: str

    class Greeter(fal.App):
        def setup(self) -> None:
            if fail_setup:
                raise FileNotFoundError("weights.bin is missing")
            self.greeting = "hello"

        @fal.endpoint("/")
        def greet(self, person: Person) -> dict[str, str]:
            return {"message": f"{self.greeting} {person.name}"}

    return cloudpickle.dumps(Greeter)


def resolution(alias: str, fail_setup: bool) -> registry_pb2.ResolveApplicationResponse:
    return registry_pb2.ResolveApplicationResponse(
        owner="local",
        alias=alias,
        revision=f"{alias}-rev",
        auth_mode="public",
        serialized_function=greeter_payload(fail_setup),
        serialization_method="cloudpickle",
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
        endpoints=["/"],
    )


@pytest.fixture
async def real_gateway(
    tmp_path: Path, nats_server: NatsServer, fake_registry: tuple[FakeRegistry, str]
) -> AsyncIterator[httpx.AsyncClient]:
    home = tmp_path / "home"
    config = SchedulerConfig(
        home=home,
        registry_address=fake_registry[1],
        nats_url=nats_server.url,
        internal_token=INTERNAL_TOKEN,
        pool_defaults=PoolDefaults(termination_grace=10.0, startup_timeout=120.0),
    )
    builder = EnvironmentBuilder(home, IndexSettings.from_pip(), find_fal_sources())
    scheduler = Scheduler(config, builder=builder)
    await scheduler.start()
    transport = httpx.ASGITransport(app=scheduler.app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", timeout=180
        ) as client:
            yield client
    finally:
        await scheduler.close()


async def test_pickled_app_runs_in_built_environment(
    real_gateway: httpx.AsyncClient, fake_registry: tuple[FakeRegistry, str]
) -> None:
    fake_registry[0].apps[("local", "greeter")] = resolution("greeter", False)
    fake_registry[0].apps[("local", "broken")] = resolution("broken", True)

    greeted = await real_gateway.post("/local/greeter", json={"name": "ada"})
    broken = await real_gateway.post("/local/broken", json={"name": "ada"})

    assert greeted.status_code == 200, greeted.text
    assert greeted.json() == {"message": "hello ada"}
    assert broken.status_code == 503
    assert "local/broken" in broken.json()["detail"]
    assert "FileNotFoundError: weights.bin is missing" in broken.json()["detail"]
