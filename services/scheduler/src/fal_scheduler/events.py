"""The scheduler's NATS side: build requests and app events.

Wire format (see docs/internals.md, "NATS"): JSON on core NATS subjects.
``fal.scheduler.build`` is answered at once with the env_key and the build
runs in the background, publishing ``fal.build.<id>.log`` lines and one
``fal.build.<id>.done``. ``fal.apps.deployed`` and ``fal.apps.deleted``
drop cached resolutions and drain runners of replaced or deleted revisions.

A deploy follows the event's ``deployment_strategy``: ``rolling`` (the
default) starts as many runners of the new revision as the old ones had
busy (or their min_concurrency; at least one when the old revision had
runners), waits until they are ready, then moves traffic and drains the old
runners. ``recreate`` drains the old runners at once; new ones start on
demand.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from fal_proto import registry_pb2
from fal_scheduler.environments import EnvironmentBuilder
from fal_scheduler.errors import EnvironmentBuildError
from fal_scheduler.metrics import SchedulerMetrics
from fal_scheduler.pools import RunnerPools

__all__ = [
    "BUILD_SUBJECT",
    "DELETED_SUBJECT",
    "DEPLOYED_SUBJECT",
    "BuildRequest",
    "EventResponder",
    "parse_build_request",
]

logger = logging.getLogger(__name__)

BUILD_SUBJECT = "fal.scheduler.build"
DEPLOYED_SUBJECT = "fal.apps.deployed"
DELETED_SUBJECT = "fal.apps.deleted"
# Several schedulers share build requests; each build is answered once.
_BUILD_QUEUE_GROUP = "fal-scheduler-builds"


@dataclass(frozen=True)
class BuildRequest:
    """One ``fal.scheduler.build`` request, decoded."""

    build_id: str
    requirements: list[list[str]]
    python_version: str
    no_cache: bool = False
    container_image: dict[str, Any] | None = None


def parse_build_request(data: bytes) -> BuildRequest:
    """Decode and check a build request."""
    payload = json.loads(data)
    if not isinstance(payload, dict):
        raise ValueError("a build request must be a JSON object")
    build_id = payload.get("build_id")
    if not isinstance(build_id, str) or not build_id or "." in build_id:
        raise ValueError(f"build_id {build_id!r} must be a non-empty token")
    requirements = payload.get("requirements") or []
    if not isinstance(requirements, list) or not all(
        isinstance(step, list) and all(isinstance(p, str) for p in step)
        for step in requirements
    ):
        raise ValueError("requirements must be a list of lists of strings")
    python_version = payload.get("python_version") or ""
    if not isinstance(python_version, str):
        raise ValueError("python_version must be a string like '3.11'")
    container_image = payload.get("container_image")
    if container_image is not None and not isinstance(container_image, dict):
        raise ValueError("container_image must be a JSON object")
    return BuildRequest(
        build_id,
        requirements,
        python_version,
        no_cache=payload.get("no_cache") is True,
        container_image=container_image,
    )


def refuse_container_image() -> str:
    """Why this scheduler cannot take an app that runs in a container image."""
    return (
        "this scheduler's runner backend runs apps as local processes in uv "
        "virtual environments and cannot run container images "
        "(kind='container', image=ContainerImage(...)). Only a container-"
        "capable runner backend can run them, such as the Ray backend this "
        "platform plans, and no such backend exists yet; declare the app's "
        "packages with requirements=[...] instead."
    )


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


class EventResponder:
    """Subscribes this scheduler to its NATS subjects."""

    def __init__(
        self,
        builder: EnvironmentBuilder,
        pools: RunnerPools,
        forget: Callable[[str, str | None], None],
        metrics: SchedulerMetrics,
        resolve_fresh: Resolver | None = None,
    ) -> None:
        self.builder = builder
        self.pools = pools
        self.forget = forget
        self.metrics = metrics
        # Resolves an alias bypassing (and not filling) the cache; without
        # it every deploy is handled as ``recreate``.
        self.resolve_fresh = resolve_fresh
        self._rollouts: set[asyncio.Task[None]] = set()
        self._nats: NatsClient | None = None
        self._builds: set[asyncio.Task[None]] = set()

    async def start(self, nats_url: str) -> None:
        self._nats = await nats.connect(nats_url, name="fal-scheduler")
        await self._nats.subscribe(
            BUILD_SUBJECT, queue=_BUILD_QUEUE_GROUP, cb=self._on_build
        )
        await self._nats.subscribe(DEPLOYED_SUBJECT, cb=self._on_deployed)
        await self._nats.subscribe(DELETED_SUBJECT, cb=self._on_deleted)
        await self._nats.flush()
        logger.info("Listening for builds and app events on %s", nats_url)

    async def close(self) -> None:
        for task in list(self._builds) + list(self._rollouts):
            task.cancel()
        await asyncio.gather(*self._builds, *self._rollouts, return_exceptions=True)
        if self._nats is not None:
            await self._nats.drain()

    async def _on_build(self, msg: Msg) -> None:
        try:
            request = parse_build_request(msg.data)
            env_key = self.builder.env_key(request.requirements, request.python_version)
        except (ValueError, EnvironmentBuildError) as error:
            await msg.respond(_encode({"accepted": False, "error": str(error)}))
            return
        if request.container_image is not None:
            refusal = refuse_container_image()
            await msg.respond(_encode({"accepted": False, "error": refusal}))
            return
        await msg.respond(_encode({"accepted": True, "env_key": env_key}))
        task = asyncio.create_task(self._build(request))
        self._builds.add(task)
        task.add_done_callback(self._builds.discard)

    async def _build(self, request: BuildRequest) -> None:
        assert self._nats is not None
        client = self._nats
        build_id = request.build_id
        log_subject = f"fal.build.{build_id}.log"

        async def publish_log(message: str, level: str) -> None:
            timestamp = datetime.now(UTC).isoformat()
            payload = {"message": message, "level": level, "timestamp": timestamp}
            await client.publish(log_subject, _encode(payload))

        try:
            built = await self.builder.ensure(
                request.requirements,
                request.python_version,
                publish_log,
                no_cache=request.no_cache,
            )
        except EnvironmentBuildError as error:
            self.metrics.environment_builds.labels("failed").inc()
            logger.info("Build %s failed: %s", build_id, error)
            done: dict[str, Any] = {"ok": False, "error": str(error)}
        except Exception as error:
            self.metrics.environment_builds.labels("failed").inc()
            logger.exception("Build %s failed unexpectedly", build_id)
            done = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        else:
            self.metrics.environment_builds.labels("ok").inc()
            done = {"ok": True, "env_key": built.env_key}
        await client.publish(f"fal.build.{build_id}.done", _encode(done))
        await client.flush()

    async def _on_deployed(self, msg: Msg) -> None:
        event = _decode_event(msg)
        if event is None:
            return
        owner, alias = event["owner"], event["alias"]
        revision = event.get("revision") or None
        strategy = event.get("deployment_strategy") or "rolling"
        logger.info(
            "App %s/%s deployed revision %s (%s)", owner, alias, revision, strategy
        )
        if strategy == "rolling" and revision and self.resolve_fresh is not None:
            task = asyncio.create_task(self._roll(owner, _aliases(event), revision))
            self._rollouts.add(task)
            task.add_done_callback(self._rollouts.discard)
            return
        self.forget(owner, None)
        self.pools.retire(owner, _aliases(event), keep_revision=revision)

    async def _roll(self, owner: str, aliases: list[str], revision: str) -> None:
        """Warm the new revision's runners, then move traffic, drain the old."""
        try:
            await self._warm(owner, aliases, revision)
        except Exception:
            logger.exception("Warming revision %s of %s failed", revision, owner)
        self.forget(owner, None)
        self.pools.retire(owner, aliases, keep_revision=revision)

    async def _warm(self, owner: str, aliases: list[str], revision: str) -> None:
        assert self.resolve_fresh is not None
        old = [
            (key[1], pool)
            for key, pool in self.pools.pools().items()
            if key[0] == owner and key[1] in aliases and key[2] != revision
        ]
        busy = sum(1 for _, pool in old for r in pool.runners if r.in_flight)
        floor = max((pool.settings.min_concurrency for _, pool in old), default=0)
        had_runners = any(pool.runners or pool.starting for _, pool in old)
        needed = max(busy, floor, 1 if had_runners else 0)
        if not needed:
            return
        app = await self.resolve_fresh(owner, old[0][0])
        if app.revision != revision:
            return  # another deploy overtook this one
        pool = self.pools.pool_for(app)
        needed = min(needed, pool.settings.max_concurrency)
        logger.info(
            "Rolling deploy of %s: starting %d runners before draining the old",
            pool.name,
            needed,
        )
        started = await asyncio.gather(
            *(pool.start_spare() for _ in range(needed)), return_exceptions=True
        )
        for result in started:
            if isinstance(result, BaseException):
                logger.warning("A runner of %s failed to start: %s", pool.name, result)

    async def _on_deleted(self, msg: Msg) -> None:
        event = _decode_event(msg)
        if event is None:
            return
        self.forget(event["owner"], None)
        self.pools.retire(event["owner"], _aliases(event))
        logger.info("App %s/%s deleted", event["owner"], event["alias"])


Resolver = Callable[[str, str], Awaitable[registry_pb2.ResolveApplicationResponse]]


def _decode_event(msg: Msg) -> dict[str, Any] | None:
    try:
        event = json.loads(msg.data)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not all(
        isinstance(event.get(name), str) for name in ("owner", "alias")
    ):
        logger.warning("Ignoring malformed event on %s", msg.subject)
        return None
    return event


def _aliases(event: dict[str, Any]) -> list[str]:
    """The full aliases an event may name: ``x`` or ``x--<environment>``."""
    alias = event["alias"]
    environment = event.get("environment_name") or "main"
    aliases = [alias]
    if environment != "main" and "--" not in alias:
        aliases.append(f"{alias}--{environment}")
    return aliases
