"""The local runner backend and the runner pool, with real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import httpx
import pytest
from scheduler_helpers import runner_logs, stand_in_backend

from fal_scheduler.errors import (
    PoolClosedError,
    RunnerSetupError,
    RunnerStartError,
    SetupFailingError,
)
from fal_scheduler.pool import PoolSettings, RunnerPool
from fal_scheduler.runners import LocalProcessBackend, LocalRunner, RunnerSpec


def write_payload(home: Path, **spec: object) -> Path:
    path = home / "payloads" / "rev"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec))
    return path


def make_spec(home: Path, runner_id: str = "r1", timeout: float = 30.0, **spec: object):  # type: ignore[no-untyped-def]
    return RunnerSpec(
        runner_id=runner_id,
        owner="local",
        alias="echo",
        revision="rev",
        python=Path(sys.executable),
        payload=write_payload(home, **spec),
        startup_timeout=timeout,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_start_waits_for_health_and_passes_environment(tmp_path: Path) -> None:
    backend = stand_in_backend(tmp_path)
    try:
        runner = await backend.start(make_spec(tmp_path, setup_seconds=0.5))
        async with httpx.AsyncClient() as client:
            response = await client.post(runner.base_url + "/", content=b"hi")
    finally:
        await backend.close(grace=5)

    echoed = response.json()
    assert echoed["app"] == ["local", "echo", "rev"]
    assert echoed["runner_id"] == "r1"
    assert echoed["parent_pid"] == str(os.getpid())
    assert runner.exited
    log = (tmp_path / "logs" / "runners" / "r1.log").read_text()
    assert "setup" in log
    assert "terminated cleanly" in log  # SIGTERM was handled gracefully


async def test_setup_failure_raises_error_from_status_file(tmp_path: Path) -> None:
    backend = stand_in_backend(tmp_path)

    with pytest.raises(RunnerSetupError) as caught:
        await backend.start(make_spec(tmp_path, setup_error="model missing"))
    await backend.close(grace=5)

    assert caught.value.error_type == "RuntimeError"
    assert caught.value.message == "model missing"


async def test_startup_timeout_stops_the_runner(tmp_path: Path) -> None:
    backend = stand_in_backend(tmp_path)

    with pytest.raises(RunnerStartError, match="startup_timeout"):
        await backend.start(make_spec(tmp_path, timeout=0.5, setup_seconds=30))
    await backend.close(grace=5)

    assert backend._runners == {}


async def test_stop_kills_runner_that_ignores_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    ready = tmp_path / "ignoring-sigterm"
    script.write_text(
        "import signal, time, http.server, sys, pathlib\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "port = int(sys.argv[sys.argv.index('--port') + 1])\n"
        "http.server.HTTPServer(('127.0.0.1', port),"
        " http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    backend = LocalProcessBackend(
        tmp_path, runtime_module="stubborn", extra_env={"PYTHONPATH": str(tmp_path)}
    )
    # SimpleHTTPRequestHandler answers GET /health with 404: not ready, so
    # talk to the process directly.
    runner = await backend._spawn(make_spec(tmp_path))
    # Only once the script ignores SIGTERM does stopping it test the escalation.
    for _ in range(600):
        if ready.exists():
            break
        await asyncio.sleep(0.05)
    assert ready.exists(), "the stubborn runner never started"

    started = time.monotonic()
    await backend.stop(runner, grace=0.5)

    assert runner.process.returncode == -9
    assert time.monotonic() - started < 5


def pool_of(backend: LocalProcessBackend, home: Path, **settings: object) -> RunnerPool:
    counter = iter(range(1000))

    async def start() -> LocalRunner:
        return await backend.start(make_spec(home, f"r{next(counter)}"))

    return RunnerPool("local/echo@rev", PoolSettings(**settings), backend, start)  # type: ignore[arg-type]


async def test_pool_scales_from_zero_and_respects_max_concurrency(
    tmp_path: Path,
) -> None:
    backend = stand_in_backend(tmp_path)
    pool = pool_of(backend, tmp_path, max_concurrency=2, max_multiplexing=1)
    try:
        leases = await asyncio.gather(pool.acquire(), pool.acquire())
        third = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.5)
        third_waited = not third.done()
        await pool.release(leases[0])
        lease = await asyncio.wait_for(third, 5)
        await pool.release(lease)
        await pool.release(leases[1])
    finally:
        await pool.close()
        await backend.close(grace=5)

    assert leases[0].runner is not leases[1].runner
    assert third_waited
    assert lease.runner is leases[0].runner
    assert len(runner_logs(tmp_path)) == 2


async def test_pool_multiplexes_requests_onto_one_runner(tmp_path: Path) -> None:
    backend = stand_in_backend(tmp_path)
    pool = pool_of(backend, tmp_path, max_concurrency=3, max_multiplexing=3)
    try:
        leases = await asyncio.gather(*(pool.acquire() for _ in range(3)))
        for lease in leases:
            await pool.release(lease)
    finally:
        await pool.close()
        await backend.close(grace=5)

    assert len({lease.runner for lease in leases}) == 1
    assert len(runner_logs(tmp_path)) == 1


async def test_pool_reaps_idle_runner_but_keeps_min_concurrency(
    tmp_path: Path,
) -> None:
    backend = stand_in_backend(tmp_path)
    pool = pool_of(backend, tmp_path, keep_alive=0.2, min_concurrency=1)
    try:
        first, second = await asyncio.gather(pool.acquire(), pool.acquire())
        await pool.release(first)
        await pool.release(second)
        await asyncio.sleep(0.3)
        await pool.reap()
        remaining = pool.runners
    finally:
        await pool.close()
        await backend.close(grace=5)

    assert len(remaining) == 1
    assert {first.runner, second.runner} - set(remaining)
    stopped = ({first.runner, second.runner} - set(remaining)).pop()
    assert stopped.handle.exited


async def test_pool_setup_failure_enters_growing_failure_delay(
    tmp_path: Path,
) -> None:
    attempts = 0

    async def failing_start() -> LocalRunner:
        nonlocal attempts
        attempts += 1
        raise RunnerSetupError("RuntimeError", "no weights")

    pool = RunnerPool(
        "local/broken@rev",
        PoolSettings(failure_delay_step=0.2, failure_delay_max=0.3),
        stand_in_backend(tmp_path),
        failing_start,
    )

    with pytest.raises(SetupFailingError, match="no weights"):
        await pool.acquire()
    with pytest.raises(SetupFailingError) as during_delay:
        await pool.acquire()
    attempts_during_delay = attempts
    await asyncio.sleep(0.25)
    with pytest.raises(SetupFailingError) as second_failure:
        await pool.acquire()

    assert attempts_during_delay == 1
    assert during_delay.value.retry_in <= 0.2
    assert attempts == 2
    assert 0.2 < second_failure.value.retry_in <= 0.3  # capped at max


async def test_dead_runner_is_removed_from_pool(tmp_path: Path) -> None:
    backend = stand_in_backend(tmp_path)
    pool = pool_of(backend, tmp_path)
    try:
        lease = await pool.acquire()
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.TransportError):
                await client.post(lease.base_url + "/exit")
        await pool.release(lease)
        for _ in range(50):
            if not pool.runners:
                break
            await asyncio.sleep(0.1)
        remaining = pool.runners
        replacement = await pool.acquire()
        await pool.release(replacement)
    finally:
        await pool.close()
        await backend.close(grace=5)

    assert remaining == []
    assert replacement.runner is not lease.runner


async def test_close_waits_for_in_flight_then_rejects(tmp_path: Path) -> None:
    backend = stand_in_backend(tmp_path)
    pool = pool_of(backend, tmp_path)
    lease = await pool.acquire()
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0.3)
    still_running = not lease.runner.handle.exited and not closing.done()
    await pool.release(lease)
    await asyncio.wait_for(closing, 10)

    with pytest.raises(PoolClosedError):
        await pool.acquire()
    await backend.close(grace=5)

    assert still_running
    assert lease.runner.handle.exited


async def test_backend_close_leaves_no_process_behind(tmp_path: Path) -> None:
    backend = stand_in_backend(tmp_path)
    runners = await asyncio.gather(
        backend.start(make_spec(tmp_path, "a")), backend.start(make_spec(tmp_path, "b"))
    )
    pids = [runner.process.pid for runner in runners]

    await backend.close(grace=5)

    assert not any(alive(pid) for pid in pids)
