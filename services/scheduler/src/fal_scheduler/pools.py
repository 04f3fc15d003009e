"""All runner pools of this scheduler, keyed by revision.

``RunnerPools`` turns a registry resolution into a pool that can start
runners of it (environment, payload, backend), replaces pools when a new
revision is deployed, drains them when an app is deleted, and runs the
reaper that applies ``keep_alive`` and ``min_concurrency``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fal_proto import registry_pb2
from fal_scheduler.control import secret_environment
from fal_scheduler.environments import EnvironmentProvider
from fal_scheduler.errors import EnvironmentBuildError, RunnerStartError
from fal_scheduler.metrics import SchedulerMetrics
from fal_scheduler.pool import HealthCheckSettings, PoolSettings, RunnerPool
from fal_scheduler.runners import RunnerBackend, RunnerHandle, RunnerSpec

__all__ = ["PoolDefaults", "RevisionKey", "RunnerPools"]

logger = logging.getLogger(__name__)

RevisionKey = tuple[str, str, str]  # owner, alias, revision

_PICKLE_METHODS = ("", "cloudpickle", "pickle")


@dataclass(frozen=True)
class PoolDefaults:
    """Values used when a revision's settings leave a field unset."""

    keep_alive: float = 60.0
    max_concurrency: int = 10
    max_multiplexing: int = 1
    min_concurrency: int = 0
    startup_timeout: float = 600.0
    termination_grace: float = 30.0
    failure_delay_step: float = 30.0
    failure_delay_max: float = 600.0
    health_check_interval: float = 15.0


class RunnerPools:
    """Finds or creates the pool of a resolved revision."""

    def __init__(
        self,
        home: Path,
        backend: RunnerBackend,
        environments: EnvironmentProvider,
        metrics: SchedulerMetrics,
        defaults: PoolDefaults | None = None,
        reap_interval: float = 1.0,
    ) -> None:
        self.payloads_dir = home / "payloads"
        self.backend = backend
        self.environments = environments
        self.metrics = metrics
        self.defaults = defaults or PoolDefaults()
        self.reap_interval = reap_interval
        self._pools: dict[RevisionKey, RunnerPool] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None

    def pool_for(self, app: registry_pb2.ResolveApplicationResponse) -> RunnerPool:
        key = (app.owner, app.alias, app.revision)
        pool = self._pools.get(key)
        if pool is None or pool.closed:
            pool = RunnerPool(
                name=f"{app.owner}/{app.alias}@{app.revision}",
                settings=self._settings(app),
                backend=self.backend,
                start_runner=lambda: self._start_runner(app),
                on_runner_started=self.metrics.runners_started.inc,
            )
            self._pools[key] = pool
        else:
            # Scaling changed at runtime (``fal apps scale``) reaches the
            # pool with the next resolution, without a redeploy.
            pool.settings = self._settings(app)
        return pool

    def pools(self) -> dict[RevisionKey, RunnerPool]:
        return dict(self._pools)

    def retire(
        self, owner: str, aliases: Iterable[str], keep_revision: str | None = None
    ) -> list[RunnerPool]:
        """Drain pools of these aliases except ``keep_revision``'s, in background."""
        names = set(aliases)
        retired = []
        for key, pool in list(self._pools.items()):
            if key[0] == owner and key[1] in names and key[2] != keep_revision:
                del self._pools[key]
                retired.append(pool)
                logger.info("Draining runners of %s", pool.name)
                task = asyncio.create_task(pool.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        return retired

    def start_reaper(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever())

    async def reap(self) -> None:
        """One reaper pass over every pool."""
        for pool in list(self._pools.values()):
            try:
                await pool.reap()
            except Exception:
                logger.exception("Reaping %s failed", pool.name)
        active = sum(len(pool.runners) for pool in self._pools.values())
        self.metrics.runners_active.set(active)
        states = {"SETUP": sum(pool.starting for pool in self._pools.values())}
        for state in ("IDLE", "RUNNING", "DRAINING", "TERMINATING", "FAILURE_DELAY"):
            states.setdefault(state, 0)
        for pool in self._pools.values():
            if pool.failure_delay > 0:
                states["FAILURE_DELAY"] += 1
            for runner in pool.runners + pool.stopping:
                states[runner.state.value] = states.get(runner.state.value, 0) + 1
        for state, count in states.items():
            self.metrics.runners_by_state.labels(state).set(count)

    async def close(self, drain_timeout: float | None = None) -> None:
        """Stop the reaper and every runner, in-flight requests given time."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(
            *(pool.close(drain_timeout) for pool in pools), *self._closing
        )

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.reap_interval)
            await self.reap()

    def _settings(self, app: registry_pb2.ResolveApplicationResponse) -> PoolSettings:
        settings = app.settings
        defaults = self.defaults
        grace = defaults.termination_grace
        if app.HasField("termination_grace_period_seconds"):
            grace = float(app.termination_grace_period_seconds)
        return PoolSettings(
            keep_alive=_field(settings, "keep_alive", defaults.keep_alive),
            max_concurrency=max(
                1, int(_field(settings, "max_concurrency", defaults.max_concurrency))
            ),
            max_multiplexing=max(
                1, int(_field(settings, "max_multiplexing", defaults.max_multiplexing))
            ),
            min_concurrency=int(
                _field(settings, "min_concurrency", defaults.min_concurrency)
            ),
            concurrency_buffer=int(_field(settings, "concurrency_buffer", 0)),
            concurrency_buffer_perc=int(_field(settings, "concurrency_buffer_perc", 0)),
            scaling_delay=_field(settings, "scaling_delay", 0.0),
            termination_grace=grace,
            failure_delay_step=defaults.failure_delay_step,
            failure_delay_max=defaults.failure_delay_max,
            machine_type=next(iter(settings.machine_types), ""),
            health_check=self._health_check(app),
        )

    def _health_check(
        self, app: registry_pb2.ResolveApplicationResponse
    ) -> HealthCheckSettings | None:
        """The app's health check with the platform's defaults filled in."""
        if not app.HasField("health_check_config"):
            return None
        config = app.health_check_config
        startup_timeout = float(
            _field(app.settings, "startup_timeout", self.defaults.startup_timeout)
        )
        start_period = max(30.0, startup_timeout)
        if config.HasField("start_period_seconds"):
            start_period = float(config.start_period_seconds)
        return HealthCheckSettings(
            path=config.path,
            start_period=start_period,
            timeout=float(config.timeout_seconds)
            if config.HasField("timeout_seconds")
            else 5.0,
            failure_threshold=max(1, config.failure_threshold)
            if config.HasField("failure_threshold")
            else 3,
            call_regularly=config.call_regularly,
            interval=self.defaults.health_check_interval,
        )

    async def _start_runner(
        self, app: registry_pb2.ResolveApplicationResponse
    ) -> RunnerHandle:
        requirements = [list(step.packages) for step in app.requirements]
        try:
            environment = await self.environments.ensure(
                requirements, app.python_version
            )
        except EnvironmentBuildError as error:
            raise RunnerStartError(
                f"EnvironmentBuildError: the environment could not be built: {error}"
            ) from error
        startup_timeout = _field(
            app.settings, "startup_timeout", self.defaults.startup_timeout
        )
        spec = RunnerSpec(
            runner_id=uuid.uuid4().hex,
            owner=app.owner,
            alias=app.alias,
            revision=app.revision,
            python=environment.python,
            payload=self._write_payload(app),
            startup_timeout=float(startup_timeout),
            environment=secret_environment(app),
        )
        logger.info(
            "Starting runner %s of %s/%s@%s",
            spec.runner_id,
            app.owner,
            app.alias,
            app.revision,
        )
        return await self.backend.start(spec)

    def _write_payload(self, app: registry_pb2.ResolveApplicationResponse) -> Path:
        if app.serialization_method not in _PICKLE_METHODS:
            raise RunnerStartError(
                f"Serialization method {app.serialization_method!r} of "
                f"{app.owner}/{app.alias} is not supported; use 'cloudpickle'."
            )
        if not app.revision or "/" in app.revision or app.revision.startswith("."):
            raise RunnerStartError(
                f"Revision id {app.revision!r} of {app.owner}/{app.alias} cannot "
                "name a payload file."
            )
        self.payloads_dir.mkdir(parents=True, exist_ok=True)
        path = self.payloads_dir / app.revision
        if not path.exists():
            staging = path.with_name(f".{app.revision}.{uuid.uuid4().hex}")
            staging.write_bytes(app.serialized_function)
            os.replace(staging, path)
        return path


def _field(
    message: registry_pb2.MachineRequirements, name: str, default: float
) -> float:
    return float(getattr(message, name)) if message.HasField(name) else default
