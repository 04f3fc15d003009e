"""Plain data types of the control plane API, free of gRPC."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

MAIN_ENVIRONMENT = "main"
ENVIRONMENT_SEPARATOR = "--"


@dataclass(frozen=True)
class HealthCheck:
    """How the platform probes an app's health-check endpoint."""

    start_period_seconds: int | None = None
    timeout_seconds: int | None = None
    failure_threshold: int | None = None
    call_regularly: bool | None = None


@dataclass(frozen=True)
class ApplicationHealthCheckConfig:
    """A health check bound to the endpoint path it probes."""

    path: str
    start_period_seconds: int | None
    timeout_seconds: int | None
    failure_threshold: int | None
    call_regularly: bool | None


class DeploymentStrategy(enum.Enum):
    """How a new revision replaces the runners of the old one."""

    ROLLING = "rolling"
    RECREATE = "recreate"

    def to_proto(self) -> int:
        return _STRATEGY_TO_PROTO[self]

    @staticmethod
    def from_proto(proto: int) -> DeploymentStrategy:
        if proto == _STRATEGY_TO_PROTO[DeploymentStrategy.RECREATE]:
            return DeploymentStrategy.RECREATE
        return DeploymentStrategy.ROLLING


# Values of the proto enum fal_platform.registry.v1.DeploymentStrategy.
_STRATEGY_TO_PROTO = {DeploymentStrategy.ROLLING: 1, DeploymentStrategy.RECREATE: 2}


class KeyScope(enum.Enum):
    """What an API key may do: everything (ADMIN) or call apps (API)."""

    ADMIN = "ADMIN"
    API = "API"


class RunnerState(enum.Enum):
    """Life-cycle state of one runner."""

    PENDING = "PENDING"
    DOCKER_PULL = "DOCKER_PULL"
    SETUP = "SETUP"
    IDLE = "IDLE"
    RUNNING = "RUNNING"
    DRAINING = "DRAINING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    DEAD = "DEAD"
    FAILURE_DELAY = "FAILURE_DELAY"


class ReplaceState(enum.Enum):
    """Whether a runner is being replaced by a fresh one."""

    NO_REPLACE = "NO_REPLACE"
    WILL_REPLACE = "WILL_REPLACE"
    DID_REPLACE = "DID_REPLACE"


@dataclass(frozen=True)
class ServiceURLs:
    """Where a deployed app can be reached."""

    playground: str
    run: str
    queue: str
    ws: str
    log: str


@dataclass(frozen=True)
class Log:
    """One line of build or registration output."""

    message: str
    level: str
    source: str = ""
    timestamp: datetime | None = None


@dataclass(frozen=True)
class RegisterApplicationResultType:
    """The revision a successful registration created."""

    application_id: str
    alias: str = ""
    owner: str = ""
    environment_name: str = ""
    env_key: str = ""

    @property
    def revision(self) -> str:
        return self.application_id


@dataclass(frozen=True)
class RegisterApplicationResult:
    """One item of a registration stream: logs, or the final result."""

    result: RegisterApplicationResultType | None
    logs: list[Log] = field(default_factory=list)
    service_urls: ServiceURLs | None = None


@dataclass
class MachineRequirements:
    """Scaling and placement settings of an app; None means the default."""

    machine_types: list[str]
    num_gpus: int | None = None
    keep_alive: int | None = None
    base_image: str | None = None
    exposed_port: int | None = None
    scheduler: str | None = None
    scheduler_options: dict[str, Any] | None = None
    max_concurrency: int | None = None
    max_multiplexing: int | None = None
    min_concurrency: int | None = None
    concurrency_buffer: int | None = None
    concurrency_buffer_perc: int | None = None
    scaling_delay: int | None = None
    request_timeout: int | None = None
    startup_timeout: int | None = None
    valid_regions: list[str] | None = None


@dataclass(frozen=True)
class ApplicationInfo:
    """One deployed application as the registry lists it."""

    application_id: str
    keep_alive: int
    max_concurrency: int
    max_multiplexing: int
    active_runners: int
    min_concurrency: int
    concurrency_buffer: int
    concurrency_buffer_perc: int
    scaling_delay: int
    machine_types: list[str]
    request_timeout: int
    startup_timeout: int
    valid_regions: list[str]
    created_at: datetime | None
    environment_name: str | None = None
    revision: str = ""
    auth_mode: str = ""
    endpoints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AliasInfo:
    """One alias and the revision it points at."""

    alias: str
    revision: str
    auth_mode: str
    keep_alive: int
    max_concurrency: int
    max_multiplexing: int
    active_runners: int
    min_concurrency: int
    concurrency_buffer: int
    concurrency_buffer_perc: int
    scaling_delay: int
    machine_types: list[str]
    request_timeout: int
    startup_timeout: int
    valid_regions: list[str]
    environment_name: str | None = None


@dataclass(frozen=True)
class WhoAmIInfo:
    """The owner and scope of the key a connection presents."""

    owner: str
    key_id: str
    scope: KeyScope | None


@dataclass(frozen=True)
class RunnerInfo:
    """One runner of an app."""

    runner_id: str
    in_flight_requests: int
    expiration_countdown: int | None
    uptime: timedelta
    external_metadata: dict[str, Any]
    revision: str
    alias: str
    state: RunnerState
    machine_type: str
    replacement: ReplaceState = ReplaceState.NO_REPLACE


@dataclass(frozen=True)
class UserKeyInfo:
    """An API key, without its secret."""

    key_id: str
    created_at: datetime
    scope: KeyScope
    alias: str


@dataclass(frozen=True)
class EnvironmentInfo:
    """A named environment apps can be deployed into."""

    name: str
    description: str | None
    is_default: bool
    created_at: datetime


@dataclass(frozen=True)
class RevisionInfo:
    """One revision of an app, with the aliases that serve it."""

    revision: str
    application_name: str
    created_at: datetime | None
    aliases: list[str]
    endpoints: list[str]
    deployment_strategy: str
    environment_name: str | None = None


@dataclass(frozen=True)
class ServerlessSecret:
    """A secret's name; its value is never returned."""

    name: str
    created_at: datetime
    environment_name: str | None = None


def construct_alias(base_name: str, environment_name: str | None = None) -> str:
    """Return the alias of app ``base_name`` in ``environment_name``.

    The main environment (or none) keeps the bare name; any other appends
    ``--<environment>``.
    """
    if not environment_name or environment_name == MAIN_ENVIRONMENT:
        return base_name
    return f"{base_name}{ENVIRONMENT_SEPARATOR}{environment_name}"


def deconstruct_alias(full_alias: str, environment_name: str | None = None) -> str:
    """Return the app name a full alias shows in ``environment_name``."""
    if not environment_name or environment_name == MAIN_ENVIRONMENT:
        return full_alias
    suffix = f"{ENVIRONMENT_SEPARATOR}{environment_name}"
    if full_alias.endswith(suffix):
        return full_alias[: -len(suffix)]
    return full_alias
