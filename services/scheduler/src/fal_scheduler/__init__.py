"""fal_scheduler: the data plane (gateway, runners, environment builds)."""

from fal_scheduler.environments import EnvironmentBuilder, find_fal_sources
from fal_scheduler.errors import SchedulerError
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pool import PoolSettings, RunnerPool
from fal_scheduler.runners import LocalProcessBackend, RunnerBackend, RunnerSpec
from fal_scheduler.service import Scheduler, SchedulerConfig

__all__ = [
    "EnvironmentBuilder",
    "IndexSettings",
    "LocalProcessBackend",
    "PoolSettings",
    "RunnerBackend",
    "RunnerPool",
    "RunnerSpec",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerError",
    "find_fal_sources",
]
