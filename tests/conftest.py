"""Fixtures for end-to-end tests: the whole platform on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fal_platform.testing import RunningPlatform, start_platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """One platform shared by the tests of a module, stopped afterwards."""
    home = tmp_path_factory.mktemp("platform")
    with pytest.MonkeyPatch.context() as patch:
        running = start_platform(home)
        patch.setenv("FAL_CONFIG_PATH", running.env["FAL_CONFIG_PATH"])
        patch.setenv("FAL_PROFILE", "local")
        try:
            yield running
        finally:
            running.platform.stop()
