import threading
from pathlib import Path

import pytest

from fal.toolkit import (
    DownloadError,
    clone_repository,
    download_file,
    download_model_weights,
)

Routes = dict[str, tuple[int, str, bytes]]


def test_download_file_from_private_address_is_refused(
    file_server: tuple[str, Routes], tmp_path: Path
) -> None:
    base, routes = file_server
    routes["/w.bin"] = (200, "application/octet-stream", b"w")
    with pytest.raises(DownloadError, match=r"127\.0\.0\.1"):
        download_file(base + "/w.bin", tmp_path)
    assert not (tmp_path / "w.bin").exists()


def test_download_file_writes_file(
    file_server: tuple[str, Routes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_ALLOW_PRIVATE_DOWNLOADS", "1")
    base, routes = file_server
    routes["/models/w.bin"] = (200, "application/octet-stream", b"weights")

    path = download_file(base + "/models/w.bin", tmp_path / "out")

    assert path == tmp_path / "out" / "w.bin"
    assert path.read_bytes() == b"weights"


@pytest.mark.parametrize(
    ("status", "content_type", "message"),
    [(500, "text/plain", "status 500"), (200, "text/html", "HTML page")],
)
def test_download_file_failure_names_url_and_leaves_nothing(
    file_server: tuple[str, Routes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    content_type: str,
    message: str,
) -> None:
    monkeypatch.setenv("FAL_ALLOW_PRIVATE_DOWNLOADS", "1")
    base, routes = file_server
    routes["/bad.bin"] = (status, content_type, b"<html>login</html>")
    target = tmp_path / "out"

    with pytest.raises(DownloadError, match=message) as caught:
        download_file(base + "/bad.bin", target)

    assert base + "/bad.bin" in str(caught.value)
    assert list(target.iterdir()) == []


def test_download_model_weights_caches_under_data(
    file_server: tuple[str, Routes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_ALLOW_PRIVATE_DOWNLOADS", "1")
    base, routes = file_server
    routes["/lora.safetensors"] = (200, "application/octet-stream", b"v1")
    url = base + "/lora.safetensors"

    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(download_model_weights(url)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    routes["/lora.safetensors"] = (200, "application/octet-stream", b"v2")

    assert len(set(results)) == 1
    assert results[0].is_relative_to(tmp_path / "data" / ".fal" / "model_weights")
    assert download_model_weights(url).read_bytes() == b"v1"
    assert download_model_weights(url, force=True).read_bytes() == b"v2"


def test_clone_repository_checks_out_once(tmp_path: Path) -> None:
    import subprocess

    source = tmp_path / "src-repo"
    source.mkdir()
    (source / "model.py").write_text("VERSION = 1\n")
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "."],
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"],
    ):
        subprocess.run(command, cwd=source, check=True)

    first = clone_repository(str(source), repo_name="model")
    second = clone_repository(str(source), repo_name="model")

    assert first == second == tmp_path / "data" / ".fal" / "repos" / "model"
    assert (first / "model.py").read_text() == "VERSION = 1\n"
