"""Blob backends: where the filestore keeps bytes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024


class PathError(ValueError):
    """A blob path that could escape the store or is not a plain relative path."""


def clean_path(path: str) -> str:
    """Return ``path`` as a normalised relative POSIX path, or raise PathError."""
    if not path or "\x00" in path:
        raise PathError(f"Path {path!r} is empty or contains a NUL byte.")
    if path.startswith("/") or "\\" in path:
        raise PathError(f"Path {path!r} must be relative and use '/' separators.")
    parts = PurePosixPath(path).parts
    if any(part in ("..", ".") for part in parts):
        raise PathError(f"Path {path!r} may not contain '.' or '..' components.")
    return "/".join(parts)


class BlobBackend(Protocol):
    """Storage of named blobs; names are clean relative paths."""

    def write(self, path: str, stream: BinaryIO) -> int: ...

    def read(self, path: str) -> Iterator[bytes]: ...

    def size(self, path: str) -> int | None: ...

    def delete(self, path: str) -> bool: ...


class LocalDirectoryBackend:
    """Blobs as files under one directory (the one-machine default)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _resolve(self, path: str) -> Path:
        return self.root / clean_path(path)

    def write(self, path: str, stream: BinaryIO) -> int:
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so readers never see half a file.
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    out.write(chunk)
                    written += len(chunk)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return written

    def read(self, path: str) -> Iterator[bytes]:
        with self._resolve(path).open("rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                yield chunk

    def size(self, path: str) -> int | None:
        target = self._resolve(path)
        return target.stat().st_size if target.is_file() else None

    def delete(self, path: str) -> bool:
        target = self._resolve(path)
        if not target.is_file():
            return False
        target.unlink()
        return True
