"""Fixtures shared by every test in the workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fal_platform.testing import NatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A real nats-server with JetStream, on a free port, for one test."""
    server = NatsServer.start(tmp_path / "nats")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server this machine runs for tests (trust auth)."""
    import os

    return os.environ.get(
        "FAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
