"""SIGTERM to a real fal runtime: in-flight requests finish, then
handle_exit() and teardown() run, within the termination grace period.

No `from __future__ import annotations` here: the App below is pickled by
value and its endpoint annotations must be objects, not names.
"""

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import cloudpickle
import httpx
import pytest
from scheduler_helpers import INTERNAL_TOKEN, FakeRegistry

import fal
from fal_platform.testing import NatsServer
from fal_proto import registry_pb2
from fal_scheduler.environments import EnvironmentBuilder, find_fal_sources
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import PoolDefaults
from fal_scheduler.service import Scheduler, SchedulerConfig


def closer_payload(journal: str) -> bytes:
    # Defined locally so that cloudpickle serializes the class by value.
    class Closer(fal.App):
        def note(self, line: str) -> None:
            with open(journal, "a") as out:
                out.write(line + "\n")

        @fal.endpoint("/")
        def work(self) -> dict[str, bool]:
            self.note("request started")
            time.sleep(2.0)
            self.note("request done")
            return {"done": True}

        def handle_exit(self) -> None:
            self.note("handle_exit")

        def teardown(self) -> None:
            self.note("teardown")

    return cloudpickle.dumps(Closer)


@pytest.fixture
async def real_scheduler(
    tmp_path: Path, nats_server: NatsServer, fake_registry: tuple[FakeRegistry, str]
) -> AsyncIterator[Scheduler]:
    home = tmp_path / "home"
    config = SchedulerConfig(
        home=home,
        registry_address=fake_registry[1],
        nats_url=nats_server.url,
        internal_token=INTERNAL_TOKEN,
        pool_defaults=PoolDefaults(termination_grace=1.0, startup_timeout=120.0),
    )
    builder = EnvironmentBuilder(home, IndexSettings.from_pip(), find_fal_sources())
    scheduler = Scheduler(config, builder=builder)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.close()


async def test_sigterm_finishes_in_flight_then_handle_exit_and_teardown(
    real_scheduler: Scheduler, fake_registry: tuple[FakeRegistry, str], tmp_path: Path
) -> None:
    journal = tmp_path / "journal.txt"
    fake_registry[0].apps[("local", "closer")] = (
        registry_pb2.ResolveApplicationResponse(
            owner="local",
            alias="closer",
            revision="closer-rev",
            auth_mode="public",
            serialized_function=closer_payload(str(journal)),
            serialization_method="cloudpickle",
            python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
            endpoints=["/"],
            termination_grace_period_seconds=30,
        )
    )
    transport = httpx.ASGITransport(app=real_scheduler.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway", timeout=180
    ) as gateway:
        in_flight = asyncio.create_task(gateway.post("/local/closer", json={}))
        deadline = time.monotonic() + 150
        while not journal.exists():
            assert time.monotonic() < deadline, "the request never started"
            await asyncio.sleep(0.05)
        [pool] = real_scheduler.pools.pools().values()
        [runner] = pool.runners
        stopping = asyncio.create_task(pool.discard(runner, "test"))
        refused = False
        async with httpx.AsyncClient(timeout=1) as direct:
            while not refused and not in_flight.done():
                try:
                    await direct.get(runner.handle.base_url + "/health")
                except httpx.TransportError:
                    refused = True
                await asyncio.sleep(0.05)
        response = await in_flight
        await stopping
        code = await runner.handle.wait()

    assert response.status_code == 200, response.text
    assert refused  # no new requests once SIGTERM arrived
    assert journal.read_text().splitlines() == [
        "request started",
        "request done",
        "handle_exit",
        "teardown",
    ]
    assert code == 0  # stopped on its own, within the grace period
    assert pool.settings.termination_grace == 30.0
