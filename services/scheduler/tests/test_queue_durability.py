"""Killing the scheduler (SIGKILL) loses no queued request and answers each once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scheduler_helpers import FakeRegistry, stand_in_app

from fal_platform.testing import NatsServer, free_port, wait_for_port

LAUNCHER = Path(__file__).parent / "stand_in_scheduler.py"
REQUESTS = 200


class SchedulerProcess:
    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(LAUNCHER), *self.args, "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(port, timeout=30)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def scheduler_process(
    tmp_path: Path, nats_server: NatsServer, fake_registry: tuple[FakeRegistry, str]
) -> Iterator[SchedulerProcess]:
    process = SchedulerProcess(
        [
            "--home", str(tmp_path / "home"),
            "--registry", fake_registry[1],
            "--nats", nats_server.url,
            "--ledger", str(tmp_path / "ledger"),
        ],
        tmp_path / "scheduler.log",
    )  # fmt: skip
    try:
        yield process
    finally:
        process.stop()


async def statuses(client: httpx.AsyncClient, ids: list[str]) -> dict[str, str]:
    found = {}
    for request_id in ids:
        response = await client.get(f"/queue/local/echo/requests/{request_id}/status")
        found[request_id] = response.json()["status"]
    return found


async def test_scheduler_killed_with_queued_requests_answers_each_once(
    tmp_path: Path,
    fake_registry: tuple[FakeRegistry, str],
    scheduler_process: SchedulerProcess,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(max_concurrency=2)
    port = free_port()
    scheduler_process.start(port)
    base = f"http://127.0.0.1:{port}"

    # Step 1: accept 200 requests, let a few finish, kill -9 the scheduler.
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        ids = []
        for number in range(REQUESTS):
            response = await client.post(
                "/queue/local/echo/slow", json={"seconds": 0.3, "n": number}
            )
            assert response.status_code == 200
            ids.append(response.json()["request_id"])
        deadline = time.monotonic() + 60
        while Counter((await statuses(client, ids[:20])).values())["COMPLETED"] < 5:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
    scheduler_process.kill()
    before = set((tmp_path / "ledger").read_text().split())

    # Step 2: a new scheduler process on the same NATS finishes the rest.
    port = free_port()
    scheduler_process.start(port)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        # 200 requests of 0.3 s on two runners: about 30 s unloaded.
        deadline = time.monotonic() + 300
        while True:
            found = await statuses(client, ids)
            if all(state == "COMPLETED" for state in found.values()):
                break
            assert time.monotonic() < deadline, Counter(found.values())
            await asyncio.sleep(0.5)
        results: list[Any] = []
        for request_id in ids:
            response = await client.get(f"/queue/local/echo/requests/{request_id}")
            results.append((response.status_code, response.json()))

    # Each request has one successful result; only requests that were on a
    # runner when the scheduler died may have run twice.
    ledger = Counter((tmp_path / "ledger").read_text().split())
    assert len(before) < REQUESTS
    assert all(status == 200 for status, _ in results)
    assert all(body["slept"] for _, body in results)
    assert set(ledger) == set(ids)
    twice = [request_id for request_id, count in ledger.items() if count > 1]
    assert len(twice) <= 2  # max_concurrency runners, one request each
