"""App files: uploaded by build_register_request, written before setup()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cloudpickle
import httpx
import pytest

from fal._private.app_files import MANIFEST_ATTRIBUTE, materialize_into_working_dir
from fal.api import build_register_request
from fal.exceptions import AppLoadError
from fal.upload import FileStoreError
from fal.utils import load_function_from
from fal_platform.testing import free_port

APP_SOURCE = """
import fal


class Reader(fal.App):
    app_files = ["assets", "notes.txt"]
    app_files_ignore = [r"\\.tmp$"]

    @fal.endpoint("/")
    def read(self) -> dict:
        return {}
"""


@pytest.fixture(scope="module")
def filestore_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("filestore")
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "fal_filestore", "--port", str(port)),
            *("--root", str(root), "--log-level", "WARNING"),
        ]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def with_filestore(filestore_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FAL_FILESTORE_URL", filestore_url)
    return filestore_url


def _reader_app(write_app: Callable[..., Path]) -> Path:
    app_file = write_app(APP_SOURCE)
    (app_file.parent / "assets" / "deep").mkdir(parents=True)
    (app_file.parent / "assets" / "deep" / "prompt.txt").write_text("a cat")
    (app_file.parent / "assets" / "scratch.tmp").write_text("ignored")
    (app_file.parent / "notes.txt").write_text("notes")
    return app_file


def test_register_uploads_app_files_and_carries_manifest(
    with_filestore: str, write_app: Callable[..., Path]
) -> None:
    loaded = load_function_from(None, str(_reader_app(write_app)))

    request = build_register_request(loaded.function)
    left_on_class = MANIFEST_ATTRIBUTE in loaded.function.__dict__

    carried = cloudpickle.loads(request.serialized_function)
    manifest = carried.__dict__[MANIFEST_ATTRIBUTE]
    metadata = json.loads(request.metadata_json)
    assert [entry["relative_path"] for entry in manifest] == [
        "assets/deep/prompt.txt",
        "notes.txt",
    ]
    assert metadata["app_files"] == manifest
    assert not left_on_class


def test_materialize_writes_files_into_working_dir(
    with_filestore: str,
    write_app: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = load_function_from(None, str(_reader_app(write_app)))
    request = build_register_request(loaded.function)
    carried = cloudpickle.loads(request.serialized_function)
    monkeypatch.setenv("FAL_RUNNER_WORKDIR", str(tmp_path / "work"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))

    workdir = materialize_into_working_dir(carried)

    assert workdir == tmp_path / "work"
    assert Path.cwd() == workdir
    assert Path("assets/deep/prompt.txt").read_text() == "a cat"
    assert not Path("assets/scratch.tmp").exists()
    assert sys.path[0] == str(workdir)


def test_materialize_without_app_files_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fal

    class Plain(fal.App):
        pass

    monkeypatch.chdir(tmp_path)

    assert materialize_into_working_dir(Plain) is None
    assert Path.cwd() == tmp_path


def test_materialize_missing_blob_names_the_file(
    with_filestore: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fal

    class Broken(fal.App):
        pass

    setattr(
        Broken,
        MANIFEST_ATTRIBUTE,
        [{"hash": "0" * 64, "relative_path": "weights/lora.bin", "mode": "420"}],
    )
    monkeypatch.setenv("FAL_RUNNER_WORKDIR", str(tmp_path / "work"))
    monkeypatch.chdir(tmp_path)

    with pytest.raises(FileStoreError, match=r"weights/lora.bin"):
        materialize_into_working_dir(Broken)
    assert Path.cwd() == tmp_path


def test_register_with_missing_app_file_names_it(
    with_filestore: str, write_app: Callable[..., Path]
) -> None:
    app_file = write_app(APP_SOURCE)
    (app_file.parent / "assets").mkdir()
    loaded = load_function_from(None, str(app_file))

    with pytest.raises(AppLoadError, match=r"notes.txt"):
        build_register_request(loaded.function)


def test_register_with_app_files_outside_context_is_refused(
    with_filestore: str, write_app: Callable[..., Path]
) -> None:
    source = APP_SOURCE.replace('["assets", "notes.txt"]', '["../outside.txt"]')
    app_file = write_app(source)
    (app_file.parent.parent / "outside.txt").write_text("x")
    loaded = load_function_from(None, str(app_file))

    with pytest.raises(AppLoadError, match=r"outside.txt"):
        build_register_request(loaded.function)


def test_register_with_app_files_without_filestore_is_clear_error(
    write_app: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAL_FILESTORE_URL", raising=False)
    loaded = load_function_from(None, str(_reader_app(write_app)))

    with pytest.raises(AppLoadError, match="FAL_FILESTORE_URL"):
        build_register_request(loaded.function)


def test_register_without_app_files_needs_no_filestore(
    write_app: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAL_FILESTORE_URL", raising=False)
    source = APP_SOURCE.replace('["assets", "notes.txt"]', "[]")
    loaded = load_function_from(None, str(write_app(source)))

    request = build_register_request(loaded.function)

    assert "app_files" not in json.loads(request.metadata_json)
    assert os.environ.get("FAL_FILESTORE_URL") is None
