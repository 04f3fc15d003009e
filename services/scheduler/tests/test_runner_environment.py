"""What the local backend puts into a runner's environment for files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fal_scheduler.__main__ import parse_args
from fal_scheduler.runners import LocalProcessBackend, RunnerSpec


def _spec(tmp_path: Path, owner: str = "alice") -> RunnerSpec:
    return RunnerSpec(
        runner_id="r1",
        owner=owner,
        alias="app",
        revision="rev",
        python=Path(sys.executable),
        payload=tmp_path / "payload",
        startup_timeout=5.0,
    )


def test_environment_names_filestore_and_creates_persistent_dir(
    tmp_path: Path,
) -> None:
    backend = LocalProcessBackend(tmp_path, filestore_url="http://127.0.0.1:9")

    environment = backend._environment(_spec(tmp_path))

    persistent = tmp_path / "files" / "data" / "alice"
    assert environment["FAL_FILESTORE_URL"] == "http://127.0.0.1:9"
    assert environment["FAL_PERSISTENT_DIR"] == str(persistent)
    assert persistent.is_dir()


def test_environment_without_filestore_keeps_persistent_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAL_FILESTORE_URL", raising=False)
    backend = LocalProcessBackend(tmp_path, data_root=tmp_path / "shared")

    environment = backend._environment(_spec(tmp_path, owner="bob"))

    assert "FAL_FILESTORE_URL" not in environment
    assert environment["FAL_PERSISTENT_DIR"] == str(tmp_path / "shared" / "bob")


def test_parse_args_reads_filestore_url() -> None:
    args = parse_args(["--filestore-url", "http://127.0.0.1:7082"])

    assert args.filestore_url == "http://127.0.0.1:7082"
