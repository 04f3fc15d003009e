"""The scheduler service: its parts wired together, started and stopped."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from fal_scheduler.control import ControlResponder
from fal_scheduler.environments import (
    EnvironmentBuilder,
    EnvironmentProvider,
    find_fal_sources,
)
from fal_scheduler.events import EventResponder
from fal_scheduler.gateway import GatewayConfig, create_gateway
from fal_scheduler.metrics import SchedulerMetrics
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import PoolDefaults, RunnerPools
from fal_scheduler.queue import QueueSettings, RequestQueue
from fal_scheduler.queue_api import create_queue_router
from fal_scheduler.registry import RegistryClient
from fal_scheduler.runners import LocalProcessBackend, RunnerBackend

__all__ = ["Scheduler", "SchedulerConfig"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerConfig:
    """Settings of one scheduler process."""

    home: Path
    registry_address: str
    nats_url: str
    internal_token: str
    host: str = "127.0.0.1"
    port: int = 7080
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    pool_defaults: PoolDefaults = field(default_factory=PoolDefaults)
    reap_interval: float = 1.0
    queue: QueueSettings = field(default_factory=QueueSettings)
    filestore_url: str | None = None


class Scheduler:
    """Gateway, runner pools, environment builds and NATS, as one service."""

    def __init__(
        self,
        config: SchedulerConfig,
        backend: RunnerBackend | None = None,
        builder: EnvironmentBuilder | None = None,
        environments: EnvironmentProvider | None = None,
    ) -> None:
        self.config = config
        self.metrics = SchedulerMetrics()
        self.builder = builder or EnvironmentBuilder(
            config.home,
            IndexSettings.from_pip(),
            find_fal_sources(),
            filestore_url=config.filestore_url,
        )
        self.backend = backend or LocalProcessBackend(
            config.home, filestore_url=config.filestore_url
        )
        self.registry = RegistryClient(config.registry_address, config.internal_token)
        self.pools = RunnerPools(
            config.home,
            self.backend,
            environments or self.builder,
            self.metrics,
            config.pool_defaults,
            config.reap_interval,
        )
        self.events = EventResponder(
            self.builder,
            self.pools,
            self.registry.forget,
            self.metrics,
            resolve_fresh=functools.partial(self.registry.resolve, fresh=True),
        )
        self.control = ControlResponder(
            self.pools,
            self.backend,
            forget_key=self.registry.forget_key,
            forget_owner=self.registry.forget,
        )
        self.queue = RequestQueue(self.registry, self.pools, self.metrics, config.queue)
        queue_router = create_queue_router(
            self.registry, self.queue, config.gateway.max_body_bytes
        )
        # App tokens are signed with the platform's shared secret.
        gateway_config = dataclasses.replace(
            config.gateway,
            token_secret=config.gateway.token_secret or config.internal_token,
        )
        self.app = create_gateway(
            self.registry, self.pools, self.metrics, gateway_config, queue_router
        )

    async def start(self) -> None:
        """Connect to NATS and start the reaper (the HTTP server is separate)."""
        self.config.home.mkdir(parents=True, exist_ok=True)
        await self.events.start(self.config.nats_url)
        await self.control.start(self.config.nats_url)
        self.pools.start_reaper()
        await self.queue.start(self.config.nats_url)

    async def close(self) -> None:
        """Stop listening for events, drain and stop every runner."""
        await self.queue.close(self.config.pool_defaults.termination_grace)
        await self.events.close()
        await self.control.close()
        await self.pools.close(self.config.pool_defaults.termination_grace)
        await self.backend.close(self.config.pool_defaults.termination_grace)
        await self.registry.close()

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        await self.start()
        server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=self.config.host,
                port=self.config.port,
                log_config=None,
                lifespan="on",
            )
        )
        # uvicorn captures SIGTERM/SIGINT while serving and re-raises them on
        # exit, which reaches the caller's handlers that set ``stop``.
        serving = asyncio.create_task(server.serve())
        logger.info(
            "Scheduler starting its gateway on http://%s:%d",
            self.config.host,
            self.config.port,
        )
        try:
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        finally:
            server.should_exit = True
            await serving
            await self.close()
            logger.info("Scheduler stopped")
