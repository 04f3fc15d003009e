"""Runner pools: the runners of one revision and the slots they offer.

A pool hands out slots (``acquire``): at most ``max_multiplexing`` requests
run on one runner at once. When no slot is free and the pool holds fewer
than ``max_concurrency`` runners, it starts one and the request waits. Idle
runners above ``min_concurrency`` stop after ``keep_alive`` seconds
(``reap``). A failed start puts the revision into a failure delay that grows
with each further failure; requests during the delay fail at once.

Pools know nothing about HTTP; the gateway and the queue dispatcher both
use ``acquire``. The queue also reports its backlog (``set_backlog``): the
requests it holds count as demand, so a burst scales up at once instead of
one runner per wake-up. ``concurrency_buffer`` (or its percentage of the
busy runners, whichever is larger) keeps warm runners above demand, and
``scaling_delay`` lets a request wait that long before it may add a runner
to a pool that already has one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from fal_scheduler.errors import (
    PoolClosedError,
    RunnerStartError,
    SetupFailingError,
)
from fal_scheduler.runners import RunnerBackend, RunnerHandle

__all__ = ["PoolSettings", "Runner", "RunnerPool", "RunnerState"]

logger = logging.getLogger(__name__)

RunnerStarter = Callable[[], Awaitable[RunnerHandle]]

# How many terminated runners a pool remembers for listing.
TERMINATED_KEPT = 20


@dataclass(frozen=True)
class HealthCheckSettings:
    """The app's ``HealthCheck``, platform defaults filled in.

    After ``start_period`` seconds from the runner's start the scheduler
    GETs ``path``; an answer other than 2xx within ``timeout`` is a failure,
    and ``failure_threshold`` failures in a row replace the runner. With
    ``call_regularly`` it checks every ``interval`` seconds for the runner's
    life; without, only until the first success.
    """

    path: str
    start_period: float = 30.0
    timeout: float = 5.0
    failure_threshold: int = 3
    call_regularly: bool = False
    interval: float = 15.0


@dataclass(frozen=True)
class PoolSettings:
    """Scaling settings of one revision (platform defaults filled in)."""

    keep_alive: float = 60.0
    max_concurrency: int = 10
    max_multiplexing: int = 1
    min_concurrency: int = 0
    concurrency_buffer: int = 0
    concurrency_buffer_perc: int = 0
    scaling_delay: float = 0.0
    termination_grace: float = 30.0
    failure_delay_step: float = 30.0
    failure_delay_max: float = 600.0
    # The first machine type the app asks for ("" when it names none).
    machine_type: str = ""
    health_check: HealthCheckSettings | None = None


class RunnerState(enum.Enum):
    """Life-cycle state of a runner, as ``fal runners list`` names it."""

    PENDING = "PENDING"  # environment being prepared
    SETUP = "SETUP"  # process started, ``setup()`` running
    IDLE = "IDLE"
    RUNNING = "RUNNING"
    DRAINING = "DRAINING"  # stopping, in-flight requests finishing
    TERMINATING = "TERMINATING"  # stopping, nothing in flight
    TERMINATED = "TERMINATED"
    FAILURE_DELAY = "FAILURE_DELAY"  # setup failed; next start after a delay


@dataclass(eq=False)
class Runner:
    """A ready runner in a pool, with its slot accounting."""

    handle: RunnerHandle
    in_flight: int = 0
    last_used: float = field(default_factory=time.monotonic)
    draining: bool = False
    # Monotonic time the process was seen gone; None while it runs.
    terminated_at: float | None = None

    @property
    def state(self) -> RunnerState:
        if self.terminated_at is not None or self.handle.exited:
            return RunnerState.TERMINATED
        if self.draining:
            if self.in_flight:
                return RunnerState.DRAINING
            return RunnerState.TERMINATING
        return RunnerState.RUNNING if self.in_flight else RunnerState.IDLE


@dataclass(frozen=True)
class Lease:
    """A slot on a runner, held for one request."""

    runner: Runner
    cold_start: bool

    @property
    def base_url(self) -> str:
        return self.runner.handle.base_url


class RunnerPool:
    """The runners of one ``(owner, alias, revision)``."""

    def __init__(
        self,
        name: str,
        settings: PoolSettings,
        backend: RunnerBackend,
        start_runner: RunnerStarter,
        on_runner_started: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._backend = backend
        self._start_runner = start_runner
        self._on_runner_started = on_runner_started
        self._runners: list[Runner] = []
        self._starting = 0
        self._waiting = 0
        self._backlog = 0
        self._demand_since: float | None = None
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures = 0
        self._failing_until = 0.0
        self._last_error: RunnerStartError | None = None
        self._closed = False
        # Runners out of the pool whose process is being stopped, and the
        # last few whose process is gone (for listing only).
        self._stopping: list[Runner] = []
        self._terminated: collections.deque[Runner] = collections.deque(
            maxlen=TERMINATED_KEPT
        )

    @property
    def runners(self) -> list[Runner]:
        return list(self._runners)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def stopping(self) -> list[Runner]:
        """Runners taken out of the pool whose process is still stopping."""
        return list(self._stopping)

    @property
    def terminated(self) -> list[Runner]:
        """The last few runners whose process is gone, oldest first."""
        return list(self._terminated)

    @property
    def failure_delay(self) -> float:
        """Seconds until the next start after failed setups (0: none)."""
        if self._last_error is None:
            return 0.0
        return max(self._failing_until - time.monotonic(), 0.0)

    @property
    def failures(self) -> int:
        """Failed starts in a row (reset by a successful one)."""
        return self._failures

    @property
    def starting(self) -> int:
        """Runners being started (environment, process, ``setup()``)."""
        return self._starting

    async def start_spare(self) -> Runner:
        """Start one runner now, whatever the demand; return it once ready.

        Used to replace a runner before it is stopped. A failed start raises
        RunnerStartError and puts the pool into no failure delay: the runner
        it was to replace keeps serving.
        """
        async with self._changed:
            if self._closed:
                raise PoolClosedError(f"The runner pool of {self.name} was closed.")
            self._starting += 1
        try:
            handle = await self._start_runner()
        except BaseException:
            async with self._changed:
                self._starting -= 1
                self._changed.notify_all()
            raise
        runner = Runner(handle)
        async with self._changed:
            self._starting -= 1
            closed = self._closed
            if not closed:
                self._runners.append(runner)
            self._changed.notify_all()
        if closed:
            await self._backend.stop(handle, self.settings.termination_grace)
            raise PoolClosedError(f"The runner pool of {self.name} was closed.")
        if self._on_runner_started is not None:
            self._on_runner_started()
        logger.info("Spare runner %s of %s is ready", handle.runner_id, self.name)
        self._watch(runner)
        return runner

    async def set_backlog(self, count: int, since: float | None = None) -> None:
        """Count ``count`` queued requests (waiting since ``since``) as demand."""
        async with self._changed:
            self._backlog = max(count, 0)
            self._demand_since = since if count > 0 else None
            self._changed.notify_all()

    async def discard(self, runner: Runner, reason: str) -> None:
        """Take a misbehaving runner out of the pool and stop it."""
        async with self._changed:
            if runner in self._runners:
                self._runners.remove(runner)
            runner.draining = True
            self._changed.notify_all()
        await self._stop_runner(runner, reason)

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Lease]:
        """Hold a runner slot for the duration of the block."""
        lease = await self.acquire()
        try:
            yield lease
        finally:
            await self.release(lease)

    async def acquire(self, prefer: str | None = None) -> Lease:
        """Wait for a free slot, starting a runner when there is room.

        ``prefer`` names a runner to use when it has a free slot (sticky
        routing); any free runner serves otherwise.
        """
        cold_start = False
        waiting_since = time.monotonic()
        async with self._changed:
            self._waiting += 1
            try:
                while True:
                    self._raise_if_unavailable()
                    runner = self._free_runner(prefer)
                    if runner is not None:
                        runner.in_flight += 1
                        return Lease(runner, cold_start)
                    delay = self._scale_up_delay(waiting_since)
                    while delay <= 0 and self._should_start():
                        cold_start = True
                        self._spawn_start()
                    await self._wait_changed(delay if delay > 0 else None)
            finally:
                self._waiting -= 1

    async def release(self, lease: Lease) -> None:
        async with self._changed:
            lease.runner.in_flight -= 1
            lease.runner.last_used = time.monotonic()
            self._changed.notify_all()

    async def reap(self) -> None:
        """Stop idle runners past keep_alive; start up to min_concurrency."""
        now = time.monotonic()
        async with self._changed:
            idle = [
                r
                for r in self._runners
                if not r.in_flight and now - r.last_used >= self.settings.keep_alive
            ]
            target = self._target()
            spare = len(self._runners) - target
            expired = sorted(idle, key=lambda r: r.last_used)[: max(spare, 0)]
            for runner in expired:
                self._runners.remove(runner)
                runner.draining = True
            missing = target - len(self._runners) - self._starting
            if not self._closed and now >= self._failing_until:
                for _ in range(max(missing, 0)):
                    self._spawn_start()
        for runner in expired:
            logger.info(
                "Stopping idle runner %s of %s after %gs keep_alive",
                runner.handle.runner_id,
                self.name,
                self.settings.keep_alive,
            )
            await self._stop_runner(runner, "keep_alive expired")

    async def close(self, drain_timeout: float | None = None) -> None:
        """Take no new requests, let in-flight ones finish, stop every runner.

        In-flight requests get ``drain_timeout`` seconds (no limit when
        None); their runners are stopped after that regardless.
        """
        async with self._changed:
            self._closed = True
            self._changed.notify_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(
                        lambda: all(not r.in_flight for r in self._runners)
                    ),
                    drain_timeout,
                )
            runners, self._runners = self._runners, []
        for runner in runners:
            runner.draining = True
        await asyncio.gather(
            *(self._stop_runner(runner, "drained") for runner in runners)
        )

    def _raise_if_unavailable(self) -> None:
        if self._closed:
            raise PoolClosedError(f"The runner pool of {self.name} was closed.")
        remaining = self._failing_until - time.monotonic()
        if self._last_error is not None and remaining > 0:
            raise SetupFailingError(self._last_error, remaining)

    def _free_runner(self, prefer: str | None = None) -> Runner | None:
        candidates = [
            r
            for r in self._runners
            if not r.draining
            and not r.handle.exited
            and r.in_flight < self.settings.max_multiplexing
        ]
        for runner in candidates:
            if runner.handle.runner_id == prefer:
                return runner
        # Fill the busiest runner first so that spare runners go idle and
        # keep_alive can stop them.
        return max(candidates, key=lambda r: r.in_flight, default=None)

    def _should_start(self) -> bool:
        total = len(self._runners) + self._starting
        if total >= self.settings.max_concurrency:
            return False
        coming_slots = self._starting * self.settings.max_multiplexing
        return self._waiting + self._backlog > coming_slots

    def _scale_up_delay(self, waiting_since: float) -> float:
        """Seconds until waiting requests may add a runner (0: now)."""
        if not self._runners and not self._starting:
            return 0.0  # scale from zero at once
        since = waiting_since
        if self._demand_since is not None:
            since = min(since, self._demand_since)
        return since + self.settings.scaling_delay - time.monotonic()

    async def _wait_changed(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def _target(self) -> int:
        """Runners to keep: busy ones plus the buffer, min and max applied."""
        settings = self.settings
        busy_slots = sum(r.in_flight for r in self._runners) + self._backlog
        busy = -(-busy_slots // settings.max_multiplexing)
        percent = -(-busy * settings.concurrency_buffer_perc // 100)
        buffer = max(settings.concurrency_buffer, percent)
        target = max(settings.min_concurrency, busy + buffer)
        return min(target, settings.max_concurrency)

    def _spawn_start(self) -> None:
        self._starting += 1
        task = asyncio.create_task(self._start_one())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_one(self) -> None:
        try:
            handle = await self._start_runner()
        except RunnerStartError as error:
            await self._record_failure(error)
            return
        except asyncio.CancelledError:
            async with self._changed:
                self._starting -= 1
                self._changed.notify_all()
            raise
        except Exception as error:
            logger.exception("Starting a runner of %s failed", self.name)
            await self._record_failure(RunnerStartError(str(error)))
            return

        runner = Runner(handle)
        async with self._changed:
            self._starting -= 1
            self._failures = 0
            self._last_error = None
            closed = self._closed
            if not closed:
                self._runners.append(runner)
            self._changed.notify_all()
        if closed:
            await self._backend.stop(handle, self.settings.termination_grace)
            return
        if self._on_runner_started is not None:
            self._on_runner_started()
        logger.info("Runner %s of %s is ready", handle.runner_id, self.name)
        self._watch(runner)

    async def _record_failure(self, error: RunnerStartError) -> None:
        async with self._changed:
            self._starting -= 1
            self._failures += 1
            delay = min(
                self.settings.failure_delay_step * self._failures,
                self.settings.failure_delay_max,
            )
            self._failing_until = time.monotonic() + delay
            self._last_error = error
            self._changed.notify_all()
        logger.warning(
            "A runner of %s failed to start (%s); next attempt in %g s",
            self.name,
            error,
            delay,
        )

    def _watch(self, runner: Runner) -> None:
        coroutines = [self._remove_when_gone(runner)]
        if self.settings.health_check is not None:
            coroutines.append(self._check_health(runner, self.settings.health_check))
        for coroutine in coroutines:
            task = asyncio.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _check_health(self, runner: Runner, check: HealthCheckSettings) -> None:
        """Poll the app's health check; replace the runner when it fails."""
        started = getattr(runner.handle, "started_at", None)
        elapsed = time.time() - started if isinstance(started, float) else 0.0
        await asyncio.sleep(max(check.start_period - elapsed, 0.0))
        failures = 0
        url = runner.handle.base_url + check.path
        async with httpx.AsyncClient(timeout=check.timeout) as client:
            while runner in self._runners and not runner.draining:
                try:
                    response = await client.get(url)
                    healthy = response.is_success
                    problem = f"answered {response.status_code}"
                except httpx.HTTPError as error:
                    healthy = False
                    problem = f"{type(error).__name__}"
                if healthy:
                    failures = 0
                    if not check.call_regularly:
                        return
                else:
                    failures += 1
                    logger.warning(
                        "Health check %s of runner %s %s (%d of %d)",
                        check.path,
                        runner.handle.runner_id,
                        problem,
                        failures,
                        check.failure_threshold,
                    )
                if failures >= check.failure_threshold:
                    break
                await asyncio.sleep(check.interval)
            else:
                return
        async with self._changed:
            if not self._closed:
                self._spawn_start()
        await self.discard(
            runner, f"failed its health check {failures} times; replaced"
        )

    async def _remove_when_gone(self, runner: Runner) -> None:
        code = await runner.handle.wait()
        self._mark_terminated(runner)
        async with self._changed:
            if runner in self._runners:
                self._runners.remove(runner)
                logger.warning(
                    "Runner %s of %s exited with code %s; removed from the pool",
                    runner.handle.runner_id,
                    self.name,
                    code,
                )
            self._changed.notify_all()

    async def _stop_runner(self, runner: Runner, reason: str) -> None:
        logger.info(
            "Stopping runner %s of %s (%s)", runner.handle.runner_id, self.name, reason
        )
        runner.draining = True
        self._stopping.append(runner)
        try:
            await self._backend.stop(runner.handle, self.settings.termination_grace)
        finally:
            self._stopping.remove(runner)
            self._mark_terminated(runner)

    def _mark_terminated(self, runner: Runner) -> None:
        if runner.terminated_at is None and runner.handle.exited:
            runner.terminated_at = time.monotonic()
            self._terminated.append(runner)
