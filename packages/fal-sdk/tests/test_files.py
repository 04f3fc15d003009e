"""FalFileSystem and sync_dir against a real filestore app (local backend)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fal.files import FalFileSystem
from fal.sync import sync_dir
from fal.upload import STREAM_CHUNK, FileRange, FileStoreError, request_with_retries
from fal_filestore import LocalDirectoryBackend, Settings, create_app


def _filesystem(root: Path, *, allow_private_urls: bool = False) -> FalFileSystem:
    settings = Settings(allow_private_urls=allow_private_urls)
    app = create_app(LocalDirectoryBackend(root), settings=settings)
    return FalFileSystem(client=TestClient(app))


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def fs(store_root: Path) -> FalFileSystem:
    return _filesystem(store_root)


@pytest.fixture
def weights_url() -> Iterator[str]:
    """A local HTTP server serving /weights.bin and failing /broken."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = (
                (200, b"W" * 300)
                if self.path == "/weights.bin"
                else (
                    500,
                    b"boom",
                )
            )
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_put_file_then_get_file_round_trips(fs: FalFileSystem, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(4096))

    fs.put_file(str(source), "/data/models/model.bin")
    fs.get_file("models/model.bin", str(tmp_path / "copy.bin"))

    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_put_file_in_parts_lands_on_disk_under_owner(
    fs: FalFileSystem, store_root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5000))

    fs.put_file(str(source), "big/big.bin", chunk_size=1024)

    stored = store_root / "data" / "local" / "big" / "big.bin"
    assert stored.read_bytes() == source.read_bytes()


def test_ls_and_info_describe_files_and_directories(
    fs: FalFileSystem, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")
    fs.put_file(str(source), "dir/a.txt")
    fs.put_file(str(source), "dir/sub/b.txt")

    listing = fs.ls("/data/dir", detail=True)
    names = fs.ls("dir", detail=False)
    info = fs.info("/data/dir/a.txt")

    assert {(e["name"], e["type"]) for e in listing} == {
        ("/data/dir/a.txt", "file"),
        ("/data/dir/sub", "directory"),
    }
    assert sorted(names) == ["/data/dir/a.txt", "/data/dir/sub"]
    assert (info["size"], info["type"]) == (3, "file")
    assert fs.info("/data/dir")["type"] == "directory"


def test_mv_and_rename_move_files_and_directories(
    fs: FalFileSystem, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")
    fs.put_file(str(source), "old/a.txt")

    fs.mv("/data/old", "/data/new")
    fs.rename("new/a.txt", "new/b.txt")

    assert fs.ls("new", detail=False) == ["/data/new/b.txt"]
    assert not fs.exists("old/a.txt")


def test_rm_file_and_recursive_directory(fs: FalFileSystem, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")
    fs.put_file(str(source), "tree/a.txt")
    fs.put_file(str(source), "tree/deep/b.txt")
    fs.put_file(str(source), "single.txt")

    fs.rm("single.txt")
    with pytest.raises(ValueError, match="recursive"):
        fs.rm("tree")
    fs.rm("tree", recursive=True)

    assert fs.ls("/data", detail=False) == []


def test_missing_path_raises_file_not_found_naming_it(
    fs: FalFileSystem, tmp_path: Path
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with pytest.raises(FileNotFoundError, match=r"/data/nope.bin"):
        fs.get_file("nope.bin", str(downloads / "nope.bin"))
    with pytest.raises(FileNotFoundError, match=r"/data/nope.bin"):
        fs.info("nope.bin")
    with pytest.raises(FileNotFoundError, match="/data/nope"):
        fs.mv("nope", "elsewhere")
    with pytest.raises(FileNotFoundError, match=r"/data/nope.bin"):
        fs.rm("nope.bin")
    assert list(downloads.iterdir()) == []


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../b", "a\x00b"])
def test_traversal_path_is_refused_naming_it(
    fs: FalFileSystem, tmp_path: Path, path: str
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")

    with pytest.raises(ValueError, match="Path"):
        fs.put_file(str(source), path)


def test_put_file_create_mode_refuses_existing(
    fs: FalFileSystem, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")
    fs.put_file(str(source), "a.txt")

    with pytest.raises(FileExistsError, match=r"/data/a.txt"):
        fs.put_file(str(source), "a.txt", mode="create")


def test_put_file_from_url_stores_the_download(
    store_root: Path, weights_url: str, tmp_path: Path
) -> None:
    fs = _filesystem(store_root, allow_private_urls=True)

    fs.put_file_from_url(f"{weights_url}/weights.bin", "/data/w/weights.bin")

    assert fs.info("w/weights.bin")["size"] == 300


def test_put_file_from_private_url_is_refused(
    fs: FalFileSystem, weights_url: str
) -> None:
    with pytest.raises(ValueError, match=r"127.0.0.1"):
        fs.put_file_from_url(f"{weights_url}/weights.bin", "w.bin")
    assert not fs.exists("w.bin")


def test_sync_dir_uploads_tree_and_skips_unchanged(
    fs: FalFileSystem, store_root: Path, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_text("A")
    (local / "sub" / "b.txt").write_text("BB")

    remote = sync_dir(local, "synced", fs=fs)
    stored = store_root / "data" / "local" / "synced"
    first_mtime = (stored / "a.txt").stat().st_mtime_ns
    sync_dir(local, "/data/synced", fs=fs)
    unchanged_mtime = (stored / "a.txt").stat().st_mtime_ns
    sync_dir(local, "synced", force_upload=True, fs=fs)

    assert remote == "/data/synced"
    assert (stored / "sub" / "b.txt").read_text() == "BB"
    assert unchanged_mtime == first_mtime
    assert (stored / "a.txt").stat().st_mtime_ns != first_mtime


def test_sync_dir_of_missing_directory_is_refused(
    fs: FalFileSystem, tmp_path: Path
) -> None:
    with pytest.raises(NotADirectoryError, match="missing"):
        sync_dir(tmp_path / "missing", "x", fs=fs)


def test_file_range_streams_only_its_part(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 10)

    part = FileRange(path, 2000, 1000)

    assert part.size == 560
    assert b"".join(part) == path.read_bytes()[2000:]
    assert b"".join(part) == b"".join(part)  # iterable again, for retries


def test_file_range_holds_one_stream_chunk_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * (STREAM_CHUNK * 3 + 5))

    pieces = [len(piece) for piece in FileRange(path, 0, STREAM_CHUNK * 10)]

    assert max(pieces) == STREAM_CHUNK
    assert sum(pieces) == STREAM_CHUNK * 3 + 5


def test_put_file_into_directory_keeps_file_name(
    fs: FalFileSystem, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")
    fs.put_file(str(source), "t/other.txt")

    into_slash = fs.put_file(str(source), "/data/t/")
    into_existing = fs.put_file(str(source), "/data/t")

    assert (into_slash, into_existing) == ("/data/t/a.txt", "/data/t/a.txt")
    assert sorted(fs.ls("t", detail=False)) == ["/data/t/a.txt", "/data/t/other.txt"]


def test_put_file_returns_real_destination(fs: FalFileSystem, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")
    assert fs.put_file(str(source), "/etc/x") == "/data/etc/x"


def test_put_file_interrupted_in_parts_cancels_upload(
    store_root: Path, tmp_path: Path
) -> None:
    client = _InterruptingClient(create_app(LocalDirectoryBackend(store_root)))
    fs = FalFileSystem(client=client)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5000))

    with pytest.raises(KeyboardInterrupt):
        fs.put_file(str(source), "big.bin", chunk_size=1024)

    assert ("DELETE", "/multipart/") in {(m, p[:11]) for m, p in client.sent}
    assert list((store_root / ".fal-multipart").glob("*")) == []
    assert list((store_root / "uploads").glob("*")) == []
    assert not (store_root / "data" / "local" / "big.bin").exists()


def test_request_with_conflict_is_not_retried(store_root: Path) -> None:
    client = _InterruptingClient(create_app(LocalDirectoryBackend(store_root)))
    client.interrupt_at = 0
    client.put("/data/t/a.txt", content=b"a")

    with pytest.raises(FileStoreError) as raised:
        request_with_retries(client, "PUT", "/data/t", content=b"x")

    assert raised.value.status_code == 409
    assert [m for m, p in client.sent if p == "/data/t"] == ["PUT"]


def test_ls_entries_carry_mtime(fs: FalFileSystem, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("abc")
    fs.put_file(str(source), "a.txt")

    (entry,) = fs.ls("/data", detail=True)

    assert isinstance(entry["mtime"], float)
    assert entry["mtime"] > 0


class _InterruptingClient(TestClient):
    """A test client that records requests and raises KeyboardInterrupt at
    the second multipart part it is asked to send (a user's Ctrl-C)."""

    interrupt_at = 2

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.sent: list[tuple[str, str]] = []
        self._parts = 0
        self._lock = threading.Lock()

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        with self._lock:
            self.sent.append((method, str(url)))
            if "/parts/" in str(url):
                self._parts += 1
                if self._parts == self.interrupt_at:
                    raise KeyboardInterrupt
        return super().request(method, url, **kwargs)
