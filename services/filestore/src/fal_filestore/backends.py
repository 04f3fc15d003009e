"""Blob backends: where the filestore keeps bytes.

Two backends share the ``BlobBackend`` protocol: ``LocalDirectoryBackend``
(files under one directory, the one-machine default) and ``S3Backend`` (any
S3 API through boto3). Names given to a backend are clean relative paths
(``clean_path``); the HTTP layer decides which names an owner may touch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol, cast

CHUNK_SIZE = 1024 * 1024
MAX_PART_NUMBER = 10_000
# Parts of unfinished multipart uploads live here in the local backend; blob
# names handed to backends always start with a namespace, never with this.
LOCAL_MULTIPART_DIR = ".fal-multipart"


class PathError(ValueError):
    """A blob path that could escape the store or is not a plain relative path."""


class UploadNotFoundError(LookupError):
    """A multipart upload that was never started, or was completed or cancelled."""


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


def check_part_number(number: int) -> int:
    """Return ``number`` when it is a valid part number (1 to 10000)."""
    if not 1 <= number <= MAX_PART_NUMBER:
        raise PathError(
            f"Part number {number} is out of range; use 1 to {MAX_PART_NUMBER}."
        )
    return number


@dataclass(frozen=True)
class BlobInfo:
    """One entry of a listing: a blob, or a directory (a shared name prefix)."""

    path: str
    size: int
    is_dir: bool = False
    modified: float = 0.0


@dataclass(frozen=True)
class PartInfo:
    """A stored part of an unfinished multipart upload."""

    number: int
    size: int
    etag: str


class BlobBackend(Protocol):
    """Storage of named blobs; names are clean relative paths."""

    def write(self, path: str, stream: BinaryIO) -> int: ...

    def read(
        self, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Yield bytes ``start`` to ``end`` (exclusive; None: to the end)."""
        ...

    def size(self, path: str) -> int | None: ...

    def delete(self, path: str) -> bool: ...

    def list_dir(self, prefix: str) -> list[BlobInfo]:
        """Entries directly below the directory ``prefix`` ('' for the root)."""
        ...

    def walk(self, prefix: str) -> Iterator[BlobInfo]:
        """Every blob below the directory ``prefix``, at any depth."""
        ...

    def move(self, source: str, destination: str) -> bool: ...

    def create_multipart(self, path: str) -> str: ...

    def upload_part(
        self, path: str, upload_id: str, number: int, stream: BinaryIO
    ) -> PartInfo: ...

    def list_parts(self, path: str, upload_id: str) -> list[PartInfo]: ...

    def complete_multipart(self, path: str, upload_id: str, numbers: list[int]) -> int:
        """Join the parts ``numbers`` in order into ``path``; return its size."""
        ...

    def abort_multipart(self, path: str, upload_id: str) -> None: ...

    def expire_multipart(self, older_than: float) -> int:
        """Abort uploads started before the epoch time ``older_than``."""
        ...


def copy_stream(stream: BinaryIO, out: BinaryIO) -> int:
    """Copy ``stream`` into ``out`` a chunk at a time; return the byte count."""
    written = 0
    while chunk := stream.read(CHUNK_SIZE):
        out.write(chunk)
        written += len(chunk)
    return written


class LocalDirectoryBackend:
    """Blobs as files under one directory (the one-machine default)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._multipart = self.root / LOCAL_MULTIPART_DIR

    def _resolve(self, path: str) -> Path:
        return self.root / clean_path(path)

    def write(self, path: str, stream: BinaryIO) -> int:
        target = self._resolve(path)
        with _atomic_file(target) as out:
            return copy_stream(stream, out)

    def read(
        self, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        with self._resolve(path).open("rb") as source:
            source.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = source.read(want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def size(self, path: str) -> int | None:
        target = self._resolve(path)
        return target.stat().st_size if target.is_file() else None

    def delete(self, path: str) -> bool:
        target = self._resolve(path)
        if not target.is_file():
            return False
        target.unlink()
        self._prune(target.parent)
        return True

    def _prune(self, directory: Path) -> None:
        """Remove empty directories up to the root, as S3 has none to remove."""
        while directory != self.root and directory.is_relative_to(self.root):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def list_dir(self, prefix: str) -> list[BlobInfo]:
        directory = self._resolve(prefix) if prefix else self.root
        if not directory.is_dir():
            return []
        return sorted(
            (self._info(entry) for entry in directory.iterdir() if _visible(entry)),
            key=lambda info: info.path,
        )

    def walk(self, prefix: str) -> Iterator[BlobInfo]:
        directory = self._resolve(prefix) if prefix else self.root
        for dirpath, dirnames, filenames in os.walk(directory):
            dirnames[:] = [name for name in dirnames if not name.startswith(".fal-")]
            for name in filenames:
                if not name.startswith(".upload-"):
                    yield self._info(Path(dirpath) / name)

    def move(self, source: str, destination: str) -> bool:
        origin = self._resolve(source)
        if not origin.exists():
            return False
        target = self._resolve(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(origin, target)
        self._prune(origin.parent)
        return True

    def create_multipart(self, path: str) -> str:
        clean_path(path)
        upload_id = uuid.uuid4().hex
        (self._multipart / upload_id).mkdir(parents=True)
        return upload_id

    def upload_part(
        self, path: str, upload_id: str, number: int, stream: BinaryIO
    ) -> PartInfo:
        part = self._part_path(upload_id, check_part_number(number))
        digest = hashlib.md5(usedforsecurity=False)
        with _atomic_file(part) as out:
            size = copy_stream(cast(BinaryIO, _HashingReader(stream, digest)), out)
        return PartInfo(number, size, digest.hexdigest())

    def list_parts(self, path: str, upload_id: str) -> list[PartInfo]:
        directory = self._upload_dir(upload_id)
        return [
            PartInfo(int(part.name), part.stat().st_size, "")
            for part in sorted(directory.iterdir())
            if part.name.isdigit()
        ]

    def complete_multipart(self, path: str, upload_id: str, numbers: list[int]) -> int:
        parts = [self._part_path(upload_id, number) for number in numbers]
        missing = [
            str(n) for n, part in zip(numbers, parts, strict=True) if not part.is_file()
        ]
        if missing:
            raise UploadNotFoundError(
                f"Parts {', '.join(missing)} of upload {upload_id} were not uploaded."
            )
        with _atomic_file(self._resolve(path)) as out:
            size = 0
            for part in parts:
                with part.open("rb") as source:
                    size += copy_stream(source, out)
        self.abort_multipart(path, upload_id)
        return size

    def abort_multipart(self, path: str, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    def expire_multipart(self, older_than: float) -> int:
        if not self._multipart.is_dir():
            return 0
        expired = [
            entry
            for entry in self._multipart.iterdir()
            if entry.stat().st_mtime < older_than
        ]
        for entry in expired:
            shutil.rmtree(entry, ignore_errors=True)
        return len(expired)

    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise UploadNotFoundError(f"Upload {upload_id!r} does not exist.")
        directory = self._multipart / upload_id
        if not directory.is_dir():
            raise UploadNotFoundError(f"Upload {upload_id!r} does not exist.")
        return directory

    def _part_path(self, upload_id: str, number: int) -> Path:
        return self._upload_dir(upload_id) / f"{number:05d}"

    def _info(self, entry: Path) -> BlobInfo:
        stat = entry.stat()
        relative = entry.relative_to(self.root).as_posix()
        if entry.is_dir():
            return BlobInfo(relative, 0, is_dir=True, modified=stat.st_mtime)
        return BlobInfo(relative, stat.st_size, modified=stat.st_mtime)


class S3Backend:
    """Blobs as objects in one bucket of any S3 API, through boto3.

    ``client`` is a boto3 S3 client; ``S3Backend.connect`` builds one from an
    endpoint URL and credentials. Moves are copy-then-delete (S3 has no
    rename), so a move of an object over 5 GB fails with the S3 API's error.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        create_bucket: bool = False,
    ) -> S3Backend:
        """Connect to ``bucket``; credentials default to boto3's own lookup."""
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )
        if create_bucket:
            _ensure_bucket(client, bucket)
        return cls(client, bucket, prefix)

    def _key(self, path: str) -> str:
        return self.prefix + clean_path(path)

    def write(self, path: str, stream: BinaryIO) -> int:
        counter = _CountingReader(stream)
        self.client.upload_fileobj(counter, self.bucket, self._key(path))
        return counter.count

    def read(
        self, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        extra = {}
        if start or end is not None:
            last = "" if end is None else str(end - 1)
            extra["Range"] = f"bytes={start}-{last}"
        response = self.client.get_object(
            Bucket=self.bucket, Key=self._key(path), **extra
        )
        yield from response["Body"].iter_chunks(CHUNK_SIZE)

    def size(self, path: str) -> int | None:
        key = self._key(path)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as error:
            if _status(error) == 404:
                return None
            raise
        return int(head["ContentLength"])

    def delete(self, path: str) -> bool:
        if self.size(path) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self._key(path))
        return True

    def list_dir(self, prefix: str) -> list[BlobInfo]:
        base = self._key(prefix) + "/" if prefix else self.prefix
        entries: list[BlobInfo] = []
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=base, Delimiter="/")
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(self.prefix) :].rstrip("/")
                entries.append(BlobInfo(name, 0, is_dir=True))
            entries.extend(self._info(item) for item in page.get("Contents", []))
        return sorted(entries, key=lambda info: info.path)

    def walk(self, prefix: str) -> Iterator[BlobInfo]:
        base = self._key(prefix) + "/" if prefix else self.prefix
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                yield self._info(item)

    def move(self, source: str, destination: str) -> bool:
        if self.size(source) is None:
            return False
        self.client.copy_object(
            Bucket=self.bucket,
            Key=self._key(destination),
            CopySource={"Bucket": self.bucket, "Key": self._key(source)},
        )
        self.client.delete_object(Bucket=self.bucket, Key=self._key(source))
        return True

    def create_multipart(self, path: str) -> str:
        response = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self._key(path)
        )
        return str(response["UploadId"])

    def upload_part(
        self, path: str, upload_id: str, number: int, stream: BinaryIO
    ) -> PartInfo:
        body, size = _part_body(stream)
        with self._upload_errors(upload_id):
            response = self.client.upload_part(
                Bucket=self.bucket,
                Key=self._key(path),
                UploadId=upload_id,
                PartNumber=check_part_number(number),
                Body=body,
            )
        return PartInfo(number, size, response["ETag"].strip('"'))

    def list_parts(self, path: str, upload_id: str) -> list[PartInfo]:
        parts: list[PartInfo] = []
        paginator = self.client.get_paginator("list_parts")
        with self._upload_errors(upload_id):
            pages = paginator.paginate(
                Bucket=self.bucket, Key=self._key(path), UploadId=upload_id
            )
            for page in pages:
                parts.extend(
                    PartInfo(p["PartNumber"], p["Size"], p["ETag"].strip('"'))
                    for p in page.get("Parts", [])
                )
        return parts

    def complete_multipart(self, path: str, upload_id: str, numbers: list[int]) -> int:
        stored = {part.number: part for part in self.list_parts(path, upload_id)}
        missing = [str(number) for number in numbers if number not in stored]
        if missing:
            raise UploadNotFoundError(
                f"Parts {', '.join(missing)} of upload {upload_id} were not uploaded."
            )
        layout = [{"PartNumber": n, "ETag": f'"{stored[n].etag}"'} for n in numbers]
        with self._upload_errors(upload_id):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self._key(path),
                UploadId=upload_id,
                MultipartUpload={"Parts": layout},
            )
        return sum(stored[number].size for number in numbers)

    def abort_multipart(self, path: str, upload_id: str) -> None:
        with self._upload_errors(upload_id):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(path), UploadId=upload_id
            )

    def expire_multipart(self, older_than: float) -> int:
        expired = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < older_than:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket,
                        Key=upload["Key"],
                        UploadId=upload["UploadId"],
                    )
                    expired += 1
        return expired

    def _info(self, item: dict[str, Any]) -> BlobInfo:
        name = item["Key"][len(self.prefix) :]
        modified = item["LastModified"].timestamp()
        return BlobInfo(name, int(item["Size"]), modified=modified)

    def _upload_errors(self, upload_id: str) -> _TranslateNoSuchUpload:
        return _TranslateNoSuchUpload(self.client, upload_id)


class _TranslateNoSuchUpload:
    """Turn the S3 API's NoSuchUpload into UploadNotFoundError."""

    def __init__(self, client: Any, upload_id: str) -> None:
        self.client = client
        self.upload_id = upload_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, _: object) -> None:
        if isinstance(error, self.client.exceptions.ClientError):
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchUpload", "404"):
                raise UploadNotFoundError(
                    f"Upload {self.upload_id!r} does not exist."
                ) from error


class _CountingReader:
    """A reader that counts the bytes read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self.count += len(chunk)
        return chunk


class _HashingReader(_CountingReader):
    """A reader that feeds what it reads to a hash."""

    def __init__(self, stream: BinaryIO, digest: Any) -> None:
        super().__init__(stream)
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self._digest.update(chunk)
        return chunk


class _atomic_file:
    """Write beside ``target`` and rename, so readers never see half a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> BinaryIO:
        # A concurrent move or delete prunes empty directories; the one made
        # here can vanish before the temporary file lands in it, so try again.
        for attempt in range(5):
            self.target.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, self._temp = tempfile.mkstemp(
                    dir=self.target.parent, prefix=".upload-"
                )
                break
            except FileNotFoundError:
                if attempt == 4:
                    raise
        self._out = os.fdopen(fd, "wb")
        return self._out

    def __exit__(self, kind: object, error: BaseException | None, _: object) -> None:
        # The rename itself can fail (the target is a directory): the
        # temporary file must go whichever step failed.
        try:
            self._out.close()
            if error is None:
                os.replace(self._temp, self.target)
        finally:
            Path(self._temp).unlink(missing_ok=True)


def _part_body(stream: BinaryIO) -> tuple[BinaryIO | bytes, int]:
    """A part's body and size; a seekable stream (a spool file) is not read
    into memory, so parts in flight cost disk, not RAM."""
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        start = stream.tell()
        size = stream.seek(0, os.SEEK_END) - start
        stream.seek(start)
        return stream, size
    data = stream.read()
    return data, len(data)


def _visible(entry: Path) -> bool:
    return not entry.name.startswith((".fal-", ".upload-"))


def _status(error: Any) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _ensure_bucket(client: Any, bucket: str) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except client.exceptions.ClientError:
        client.create_bucket(Bucket=bucket)


def now() -> float:
    """The current epoch time; one place for tests to reason about."""
    return time.time()
