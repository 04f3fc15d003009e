import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fal.file_sync import (
    FileSync,
    compute_hash,
    materialize_app_files,
    normalize_path,
    sanitize_relative_path,
)
from fal_filestore import LocalDirectoryBackend, create_app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(LocalDirectoryBackend(tmp_path / "store")))


def _app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "project"
    (app / "assets").mkdir(parents=True)
    (app / "app.py").write_text("import fal\n")
    (app / "assets" / "prompt.txt").write_text("a cat")
    (app / "assets" / "big.bin").write_bytes(b"z" * 5000)
    (app / "assets" / "skip.pyc").write_bytes(b"compiled")
    return app


def test_sync_files_uploads_only_missing(client: TestClient, tmp_path: Path) -> None:
    app = _app_dir(tmp_path)
    sync = FileSync(app / "app.py", client=client)
    ignore = [re.compile(r"\.pyc$")]

    files, errors = sync.sync_files(["assets"], chunk_size=1024, files_ignore=ignore)
    again = sync.check_hashes_on_server([f.hash for f in files])

    assert errors == []
    assert [f.relative_path for f in files] == ["assets/big.bin", "assets/prompt.txt"]
    assert again == []


def test_materialize_writes_files_in_working_dir(
    client: TestClient, tmp_path: Path
) -> None:
    app = _app_dir(tmp_path)
    files, _ = FileSync(app / "app.py", client=client).sync_files(["assets"])

    materialize_app_files([f.to_dict() for f in files], tmp_path / "runner", client)

    assert (tmp_path / "runner" / "assets" / "prompt.txt").read_text() == "a cat"
    assert (tmp_path / "runner" / "assets" / "big.bin").stat().st_size == 5000


def test_compute_hash_changes_with_mode(tmp_path: Path) -> None:
    path = tmp_path / "run.sh"
    path.write_text("echo hi")
    assert compute_hash(path, 0o644) != compute_hash(path, 0o755)


def test_sanitize_relative_path_refuses_escape() -> None:
    for bad in ["../secret", "/etc/passwd", "a/\x00b"]:
        with pytest.raises(ValueError, match="outside"):
            sanitize_relative_path(bad, bad)


def test_normalize_path_uses_context_dir(tmp_path: Path) -> None:
    app = _app_dir(tmp_path)
    absolute, relative = normalize_path("assets/prompt.txt", str(app / "app.py"), "..")
    assert absolute == str(app / "assets" / "prompt.txt")
    assert relative == "project/assets/prompt.txt"


def test_normalize_path_outside_context_is_refused(tmp_path: Path) -> None:
    app = _app_dir(tmp_path)
    with pytest.raises(ValueError, match="outside"):
        normalize_path("../elsewhere.txt", str(app / "app.py"))
