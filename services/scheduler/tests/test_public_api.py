"""The names fal_scheduler exports."""

import fal_scheduler


def test_exported_names_are_pinned() -> None:
    assert sorted(fal_scheduler.__all__) == [
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
    assert all(hasattr(fal_scheduler, name) for name in fal_scheduler.__all__)
