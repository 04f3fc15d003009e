"""Prometheus metrics of one registry server."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class RegistryMetrics:
    """The registry's counters, on a collector registry of their own so that
    several servers can run in one process (tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.registrations = Counter(
            "fal_registry_registrations",
            "Application registrations by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.deletions = Counter(
            "fal_registry_deletions",
            "Applications deleted.",
            registry=self.registry,
        )
        self.build_seconds = Histogram(
            "fal_registry_build_seconds",
            "Time from build request to build result.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
