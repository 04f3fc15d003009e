"""Fixtures: each test runs against the local backend and a real S3 API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fal_filestore import LocalDirectoryBackend, S3Backend, create_app
from fal_filestore.backends import BlobBackend
from fal_platform.testing import moto_server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 API server on a free port, for the whole session."""
    with moto_server() as endpoint:
        yield endpoint


def make_s3_backend(endpoint: str) -> S3Backend:
    return S3Backend.connect(
        f"bucket-{uuid.uuid4().hex[:12]}",
        endpoint_url=endpoint,
        access_key_id="testing",
        secret_access_key="testing",
        create_bucket=True,
    )


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> BlobBackend:
    if request.param == "local":
        return LocalDirectoryBackend(tmp_path / "blobs")
    return make_s3_backend(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def client(backend: BlobBackend) -> Iterator[TestClient]:
    with TestClient(create_app(backend)) as test_client:
        yield test_client
