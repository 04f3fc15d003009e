"""Prometheus metrics of the scheduler, on a registry of their own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["SchedulerMetrics"]


class SchedulerMetrics:
    """The scheduler's counters; one instance per scheduler."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fal_gateway_requests",
            "Requests answered by the gateway.",
            ["owner", "alias", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fal_gateway_request_duration_seconds",
            "Time from receiving a request to answering it.",
            ["owner", "alias"],
            registry=self.registry,
        )
        self.runners_started = Counter(
            "fal_runners_started",
            "Runners that became ready.",
            registry=self.registry,
        )
        self.cold_starts = Counter(
            "fal_cold_starts",
            "Requests that waited for a runner to start.",
            registry=self.registry,
        )
        self.runners_active = Gauge(
            "fal_runners_active",
            "Runners currently in pools.",
            registry=self.registry,
        )
        self.environment_builds = Counter(
            "fal_environment_builds",
            "Environment builds by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "fal_queue_depth",
            "Queued requests held by this scheduler, not yet on a runner.",
            ["owner", "alias"],
            registry=self.registry,
        )
        self.queue_requests = Counter(
            "fal_queue_requests",
            "Queued requests completed, by outcome (ok, error, cancelled, timeout).",
            ["owner", "alias", "outcome"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "fal_queue_wait_seconds",
            "Time from submitting a queued request to a runner taking it.",
            ["owner", "alias"],
            registry=self.registry,
        )
        self.queue_latency = Histogram(
            "fal_queue_request_duration_seconds",
            "Time from submitting a queued request to its result.",
            ["owner", "alias"],
            registry=self.registry,
        )
        self.queue_retries = Counter(
            "fal_queue_retries",
            "Queued requests sent to a runner again, by condition.",
            ["owner", "alias", "condition"],
            registry=self.registry,
        )
        self.runners_by_state = Gauge(
            "fal_runners",
            "Runners by state (SETUP counts runners being started).",
            ["state"],
            registry=self.registry,
        )
