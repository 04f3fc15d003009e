"""Fixtures of the fal-sdk tests: isolated config and environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Variables that would otherwise leak the developer's setup into the tests.
SDK_ENVIRONMENT = (
    "FAL_CONFIG_PATH",
    "FAL_PROFILE",
    "FAL_KEY",
    "FAL_KEY_ID",
    "FAL_KEY_SECRET",
    "FAL_GRPC_HOST",
    "FAL_HOST",
    "FAL_GRPC_INSECURE",
    "ISOLATE_TEST_MODE",
    "FAL_RUN_URL",
    "FAL_RUN_HOST",
    "FAL_PARENT_PID",
)


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the SDK at an empty config file and clear its variables."""
    for name in SDK_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "fal-home" / "config.toml"
    monkeypatch.setenv("FAL_CONFIG_PATH", str(path))
    yield path


@pytest.fixture
def write_app(tmp_path: Path) -> Iterator[object]:
    """Write app source to a file of its own and return its path."""
    counter = iter(range(1000))

    def write(source: str, name: str | None = None) -> Path:
        directory = tmp_path / f"apps{next(counter)}"
        directory.mkdir()
        path = directory / (name or "app.py")
        path.write_text(source)
        return path

    yield write
