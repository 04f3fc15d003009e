"""App files: hash local files, upload only those the filestore lacks.

A file's address is ``compute_hash``: the SHA-256 of its bytes followed by
its mode, so a change of the executable bit is a new file. The filestore
recomputes the hash of what it receives and refuses a mismatch.
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

from fal.upload import (
    DEFAULT_CHUNK_SIZE,
    AppFileMultipartUpload,
    FileStoreError,
    filestore_client,
    request_with_retries,
)

__all__ = [
    "AppFileUploadException",
    "FileMetadata",
    "FileSync",
    "FileSyncOptions",
    "compute_hash",
    "normalize_path",
    "print_path_tree",
    "sanitize_relative_path",
]


class AppFileUploadException(FileStoreError):
    """One app file could not be uploaded."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def compute_hash(file_path: str | Path, mode: int) -> str:
    """The content address of a file: SHA-256 of its bytes, then its mode."""
    digest = hashlib.sha256()
    with Path(file_path).open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    digest.update(f"\nmode={mode & 0o7777:o}".encode())
    return digest.hexdigest()


def sanitize_relative_path(rel_path: str, original_path: str) -> str:
    """Return ``rel_path`` as a safe POSIX relative path, or raise ValueError."""
    posix = rel_path.replace(os.sep, "/")
    parts = PurePosixPath(posix).parts
    if not parts or "\x00" in posix or posix.startswith("/") or ".." in parts:
        raise ValueError(
            f"Path {original_path!r} resolves to {rel_path!r}, which is outside "
            "the app's directory; set app_files_context_dir to a common parent."
        )
    return "/".join(part for part in parts if part != ".")


def normalize_path(
    path_str: str, base_path_str: str, files_context_dir: str | None = None
) -> tuple[str, str]:
    """(absolute path, path relative to the context) of an app file entry."""
    base = Path(base_path_str)
    base = base.parent if base.is_file() else base
    absolute = (base / path_str).resolve()
    context = (
        (base / files_context_dir).resolve() if files_context_dir else base.resolve()
    )
    relative = os.path.relpath(absolute, context)
    return str(absolute), sanitize_relative_path(relative, path_str)


def print_path_tree(file_paths: list[str]) -> None:
    """Show relative paths as a tree on the console."""
    from rich.console import Console
    from rich.tree import Tree

    tree = Tree("app files")
    nodes: dict[str, Tree] = {}
    for path in sorted(file_paths):
        parent = tree
        parts = path.split("/")
        for depth in range(len(parts)):
            key = "/".join(parts[: depth + 1])
            if key not in nodes:
                nodes[key] = parent.add(parts[depth])
            parent = nodes[key]
    Console(stderr=True).print(tree)


@dataclass
class FileMetadata:
    """What a deploy records of one app file."""

    size: int
    mtime: float
    mode: int
    hash: str
    relative_path: str
    absolute_path: str

    @classmethod
    def from_path(
        cls, file_path: Path, *, relative: str, absolute: str
    ) -> FileMetadata:
        stat = file_path.stat()
        mode = stat.st_mode & 0o7777
        return cls(
            size=stat.st_size,
            mtime=stat.st_mtime,
            mode=mode,
            hash=compute_hash(file_path, mode),
            relative_path=relative,
            absolute_path=absolute,
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "hash": self.hash,
            "relative_path": self.relative_path,
            "mode": str(self.mode),
            "size": str(self.size),
        }


@dataclass
class FileSyncOptions:
    """The app_files settings of an App class."""

    files_list: list[str]
    files_ignore: list[re.Pattern] = field(default_factory=list)
    files_context_dir: str | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> FileSyncOptions:
        return cls(
            files_list=list(options.get("app_files") or []),
            files_ignore=[re.compile(p) for p in options.get("app_files_ignore") or []],
            files_context_dir=options.get("app_files_context_dir"),
        )


class FileSync:
    """Uploads the app files of the app defined in ``local_file_path``."""

    def __init__(
        self, local_file_path: str | Path, *, client: httpx.Client | None = None
    ) -> None:
        self.local_file_path = str(local_file_path)
        self._client = client

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = filestore_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def collect_files(
        self,
        paths: list[str],
        files_context_dir: str | None = None,
        files_ignore: list[re.Pattern] | None = None,
    ) -> list[FileMetadata]:
        """Every file named by ``paths`` (directories walked), not ignored."""
        found: dict[str, FileMetadata] = {}
        for entry in paths:
            absolute, _ = normalize_path(entry, self.local_file_path, files_context_dir)
            for file_path in _files_under(Path(absolute)):
                _, relative = normalize_path(
                    str(file_path), self.local_file_path, files_context_dir
                )
                if any(p.search(relative) for p in files_ignore or []):
                    continue
                found[relative] = FileMetadata.from_path(
                    file_path, relative=relative, absolute=str(file_path)
                )
        return [found[key] for key in sorted(found)]

    def check_hashes_on_server(self, hashes: list[str]) -> list[str]:
        """The hashes the filestore does not have yet."""
        response = request_with_retries(
            self.client, "POST", "/app-files/missing", json={"hashes": hashes}
        )
        return list(response.json()["missing"])

    def sync_files(
        self,
        paths: list[str],
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_concurrency_uploads: int = 10,
        files_ignore: list[re.Pattern] | None = None,
        files_context_dir: str | None = None,
    ) -> tuple[list[FileMetadata], list[AppFileUploadException]]:
        """Upload what is missing; return all files and the failed uploads."""
        files = self.collect_files(paths, files_context_dir, files_ignore)
        missing = set(self.check_hashes_on_server([f.hash for f in files]))
        pending = {f.hash: f for f in files if f.hash in missing}.values()

        def upload(metadata: FileMetadata) -> AppFileUploadException | None:
            try:
                self.upload_file(metadata, chunk_size)
            except FileStoreError as error:
                return AppFileUploadException(str(error), metadata.relative_path)
            return None

        with ThreadPoolExecutor(max_workers=max_concurrency_uploads) as executor:
            results = list(executor.map(upload, pending))
        return files, [error for error in results if error is not None]

    def upload_file(self, metadata: FileMetadata, chunk_size: int) -> str:
        if metadata.size > chunk_size:
            return self.upload_file_multipart(
                metadata.absolute_path, metadata, chunk_size
            )
        request_with_retries(
            self.client,
            "PUT",
            f"/app-files/{metadata.hash}",
            params={"mode": metadata.mode},
            content=Path(metadata.absolute_path).read_bytes(),
        )
        return metadata.hash

    def upload_file_multipart(
        self,
        file_path: str,
        metadata: FileMetadata,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> str:
        upload = AppFileMultipartUpload(
            self.client, metadata.hash, metadata, chunk_size=chunk_size
        )
        return upload.upload_file(file_path)


def materialize_app_files(
    files: list[dict[str, str]], target_dir: str | Path, client: httpx.Client
) -> None:
    """Write deployed app files (``FileMetadata.to_dict``) under ``target_dir``."""
    root = Path(target_dir)
    for entry in files:
        relative = sanitize_relative_path(
            entry["relative_path"], entry["relative_path"]
        )
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        with client.stream("GET", f"/app-files/{entry['hash']}") as response:
            if not response.is_success:
                raise FileStoreError(
                    f"App file {relative} ({entry['hash']}) is not in the filestore "
                    f"({response.status_code}); deploy the app again."
                )
            with temporary.open("wb") as out:
                for chunk in response.iter_bytes(1024 * 1024):
                    out.write(chunk)
        temporary.chmod(int(entry["mode"]))
        temporary.replace(target)


def _files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"App file {path} does not exist.")
    return sorted(p for p in path.rglob("*") if p.is_file())
