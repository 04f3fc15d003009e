"""``fal files ...`` against a real filestore process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fal.cli import main
from fal_platform.testing import free_port


@pytest.fixture(scope="module")
def filestore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A filestore process on a free port, and its blob directory."""
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
        yield url, root
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filestore: tuple[str, Path]
) -> None:
    monkeypatch.setenv("FAL_CONFIG_PATH", str(tmp_path / "config.toml"))
    monkeypatch.setenv("FAL_FILESTORE_URL", filestore[0])
    for name in ("FAL_KEY", "FAL_PROFILE", "FAL_APP_OWNER"):
        monkeypatch.delenv(name, raising=False)


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0)


def test_files_upload_ls_download_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"w" * 1000)

    uploaded = run_cli("files", "upload", str(source), "/data/cli/weights.bin")
    capsys.readouterr()
    listed = run_cli("files", "ls", "/data/cli", "--json")
    listing = json.loads(capsys.readouterr().out)
    downloaded = run_cli(
        "files", "download", "/data/cli/weights.bin", str(tmp_path / "copy.bin")
    )

    assert (uploaded, listed, downloaded) == (0, 0, 0)
    assert [(e["name"], e["size"]) for e in listing["entries"]] == [
        ("/data/cli/weights.bin", 1000)
    ]
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_files_upload_directory_then_download_directory(tmp_path: Path) -> None:
    local = tmp_path / "tree"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_text("A")
    (local / "sub" / "b.txt").write_text("B")

    assert run_cli("files", "upload", str(local), "/data/tree") == 0
    assert run_cli("files", "download", "/data/tree", str(tmp_path / "back")) == 0

    assert (tmp_path / "back" / "a.txt").read_text() == "A"
    assert (tmp_path / "back" / "sub" / "b.txt").read_text() == "B"


def test_files_mv_then_rm_recursive(
    tmp_path: Path, filestore: tuple[str, Path]
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("A")
    run_cli("files", "upload", str(source), "/data/moving/a.txt")

    moved = run_cli("files", "mv", "/data/moving", "/data/moved")
    stored = filestore[1] / "data" / "local" / "moved" / "a.txt"
    was_moved = stored.read_text()
    removed = run_cli("files", "rm", "-r", "/data/moved")

    assert (moved, removed) == (0, 0)
    assert was_moved == "A"
    assert not stored.exists()


def test_files_rm_directory_without_recursive_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("A")
    run_cli("files", "upload", str(source), "/data/keep/a.txt")
    capsys.readouterr()

    code = run_cli("files", "rm", "/data/keep")

    assert code == 1
    assert "recursive" in capsys.readouterr().err
    assert run_cli("files", "download", "/data/keep/a.txt", str(tmp_path / "b")) == 0


def test_files_download_missing_names_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("files", "download", "/data/absent.bin", str(tmp_path / "x"))

    err = capsys.readouterr().err
    assert code == 1
    assert "/data/absent.bin" in err
    assert not (tmp_path / "x").exists()


def test_files_upload_missing_local_file_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("files", "upload", str(tmp_path / "nope.bin"), "/data/x")

    assert code == 1
    assert "nope.bin" in capsys.readouterr().err


def test_files_upload_traversal_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("A")

    code = run_cli("files", "upload", str(source), "/data/../../etc/passwd")

    assert code == 1
    assert "/data/../../etc/passwd" in capsys.readouterr().err


def test_files_upload_url_from_private_address_is_refused(
    capsys: pytest.CaptureFixture[str], filestore: tuple[str, Path]
) -> None:
    code = run_cli("files", "upload-url", f"{filestore[0]}/health", "/data/h.json")

    assert code == 1
    assert "127.0.0.1" in capsys.readouterr().err


def test_files_without_filestore_is_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FAL_FILESTORE_URL")

    code = run_cli("files", "ls")

    assert code == 1
    assert "FAL_FILESTORE_URL" in capsys.readouterr().err


def test_files_upload_into_directory_prints_real_destination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], filestore: tuple[str, Path]
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("A")

    into_slash = run_cli("files", "upload", str(source), "/data/into/")
    printed = capsys.readouterr().out
    outside = run_cli("files", "upload", str(source), "/etc/x")

    assert (into_slash, outside) == (0, 0)
    assert "/data/into/a.txt" in printed
    assert "/data/etc/x" in capsys.readouterr().out
    stored = filestore[1] / "data" / "local" / "into" / "a.txt"
    assert stored.read_text() == "A"


def test_files_rm_directory_without_recursive_suggests_r(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("A")
    run_cli("files", "upload", str(source), "/data/rdir/a.txt")
    capsys.readouterr()

    code = run_cli("files", "rm", "/data/rdir")

    assert code == 1
    assert "pass -r" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ("--json", "files", "ls", "/data/js"),
        ("files", "--json", "ls", "/data/js"),
        ("files", "ls", "/data/js", "--json"),
    ],
)
def test_files_ls_global_json_flag_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("A")
    run_cli("files", "upload", str(source), "/data/js/a.txt")
    capsys.readouterr()

    assert run_cli(*argv) == 0

    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [(e["name"], e["size"]) for e in entries] == [("/data/js/a.txt", 1)]
    assert entries[0]["mtime"] > 0


def test_files_upload_interrupted_prints_cancelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fal.files import FalFileSystem

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(FalFileSystem, "put_file", interrupted)
    source = tmp_path / "a.txt"
    source.write_text("A")

    code = run_cli("files", "upload", str(source), "/data/x")

    assert code == 130
    assert "Upload cancelled" in capsys.readouterr().err
