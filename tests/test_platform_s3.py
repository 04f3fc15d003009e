"""The launcher's S3 pass-through: the whole platform keeping blobs in S3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from fal.files import FalFileSystem
from fal_platform.platform import LocalPlatform, Ports, S3Settings
from fal_platform.testing import moto_server

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def test_s3_settings_render_filestore_flags() -> None:
    settings = S3Settings(
        bucket="b",
        endpoint_url="http://s3",
        region="eu",
        prefix="p/",
        create_bucket=True,
    )

    assert S3Settings().arguments() == []
    assert settings.arguments() == [
        "--backend", "s3", "--s3-bucket", "b", "--s3-endpoint-url", "http://s3",
        "--s3-region", "eu", "--s3-prefix", "p/", "--s3-create-bucket",
    ]  # fmt: skip


def test_platform_with_s3_bucket_stores_files_in_bucket(
    tmp_path: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings = S3Settings(
        bucket="platform", endpoint_url=s3_endpoint, create_bucket=True
    )
    platform = LocalPlatform(
        home=tmp_path / "home",
        ports=Ports(0, 0, 0, 0),
        config_path=tmp_path / "config.toml",
        s3=settings,
    )
    endpoints = platform.start()
    try:
        source = tmp_path / "weights.bin"
        source.write_bytes(b"w" * 2048)
        FalFileSystem(host=endpoints.filestore_url).put_file(
            str(source), "/data/models/weights.bin"
        )
    finally:
        platform.stop()

    bucket = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1"
    ).list_objects_v2(Bucket="platform")
    keys = {item["Key"]: item["Size"] for item in bucket.get("Contents", [])}
    assert keys == {"data/local/models/weights.bin": 2048}
    assert not (tmp_path / "home" / "files" / "data" / "local" / "models").exists()
