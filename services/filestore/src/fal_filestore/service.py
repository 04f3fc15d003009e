"""What the filestore does, apart from HTTP: namespaces, uploads, KV, expiry.

Blob names in the backend:

    data/<owner>/<path>                       the owner's persistent /data
    public/<owner>/<expires>/<id>/<name>      toolkit outputs (0: never expires)
    apps/<owner>/<hash>                       content-addressed app files
    kv/<owner>/<database>/<key>               KV entries (JSON with expiry)
    uploads/<upload_id>.json                  records of unfinished multipart uploads
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO, cast

from fal_filestore.backends import (
    BlobBackend,
    PartInfo,
    PathError,
    UploadNotFoundError,
    clean_path,
)

logger = logging.getLogger(__name__)

OWNER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
KV_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$")
KV_MIN_TTL = 60
KV_MAX_TTL = 30 * 24 * 3600
UPLOAD_KINDS = ("data", "public", "app")


class FilestoreError(Exception):
    """Root of the filestore's own errors; each carries its HTTP status."""

    status_code = 400


class NotFoundError(FilestoreError):
    status_code = 404


class HashMismatchError(FilestoreError):
    status_code = 400


class TooLargeError(FilestoreError):
    status_code = 413


class PathConflictError(FilestoreError):
    """A write or move that the files already there make impossible."""

    status_code = 409


@dataclass(frozen=True)
class Settings:
    """Limits and lifetimes an operator may change."""

    kv_max_value_bytes: int = 1024 * 1024
    upload_ttl_seconds: float = 24 * 3600
    allow_private_urls: bool = False


@dataclass
class UploadRecord:
    """An unfinished multipart upload: who started it and where it goes."""

    upload_id: str
    backend_id: str
    owner: str
    kind: str
    target: str
    created: float
    file_hash: str = ""
    mode: int = 0


def check_owner(owner: str) -> str:
    if not OWNER_PATTERN.match(owner):
        raise PathError(f"Owner {owner!r} is not a valid owner name.")
    return owner


def check_hash(file_hash: str) -> str:
    if not HASH_PATTERN.match(file_hash):
        raise PathError(
            f"Hash {file_hash!r} is not a lowercase hex SHA-256 of 64 digits."
        )
    return file_hash


def app_file_hash(chunks: Iterator[bytes], mode: int) -> str:
    """The content address of an app file: SHA-256 of its bytes, then its mode."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    digest.update(f"\nmode={mode:o}".encode())
    return digest.hexdigest()


def data_path(owner: str, path: str) -> str:
    """The blob name of ``path`` in ``owner``'s /data ('' is its root)."""
    root = f"data/{check_owner(owner)}"
    return f"{root}/{clean_path(path)}" if path else root


def public_path(owner: str, file_name: str, expires_at: int) -> str:
    name = clean_path(file_name)
    if "/" in name:
        raise PathError(f"Path {file_name!r} must be a file name, not a path.")
    return f"public/{check_owner(owner)}/{expires_at}/{uuid.uuid4().hex}/{name}"


def public_expiry(path: str) -> int:
    """The expiry epoch written into a public blob name (0: never)."""
    parts = path.split("/")
    if len(parts) < 5 or parts[0] != "public" or not parts[2].isdigit():
        raise NotFoundError(f"File '{path}' not found.")
    return int(parts[2])


class Filestore:
    """The filestore's operations over one backend."""

    def __init__(self, backend: BlobBackend, settings: Settings | None = None) -> None:
        self.backend = backend
        self.settings = settings or Settings()

    # App files

    def missing_hashes(self, owner: str, hashes: list[str]) -> list[str]:
        return [
            file_hash
            for file_hash in dict.fromkeys(hashes)
            if self.backend.size(f"apps/{owner}/{check_hash(file_hash)}") is None
        ]

    def put_app_file(
        self, owner: str, file_hash: str, mode: int, stream: BinaryIO
    ) -> int:
        target = f"apps/{check_owner(owner)}/{check_hash(file_hash)}"
        digest = hashlib.sha256()
        reader = _DigestReader(stream, digest)
        staging = f"uploads/staging/{uuid.uuid4().hex}"
        size = self.backend.write(staging, cast(BinaryIO, reader))
        digest.update(f"\nmode={mode:o}".encode())
        if digest.hexdigest() != file_hash:
            self.backend.delete(staging)
            raise HashMismatchError(
                f"The content of app file {file_hash} hashes to "
                f"{digest.hexdigest()}; upload the file's exact bytes and mode."
            )
        self.backend.move(staging, target)
        return size

    # /data

    def writable_data(self, owner: str, path: str) -> str:
        """The blob name of ``path`` in ``owner``'s /data, where a file may go.

        Raises PathConflictError when ``path`` is a directory or lies below a
        file: S3 would accept both, and a local directory neither.
        """
        name = data_path(owner, path)
        parts = clean_path(path).split("/")
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if self.backend.size(data_path(owner, ancestor)) is not None:
                raise PathConflictError(
                    f"'{ancestor}' is a file, so nothing can be stored below it "
                    f"at '{path}'; choose another path or delete the file first."
                )
        if self.backend.list_dir(name):
            raise PathConflictError(
                f"'{path}' is a directory; name a file inside it, like '{path}/<name>'."
            )
        return name

    def move_data(self, owner: str, source: str, destination: str) -> tuple[str, int]:
        """Move a file or directory like ``mv``: into ``destination`` when it
        is a directory, otherwise onto it. Return the final destination and
        the number of files moved."""
        origin, target = data_path(owner, source), data_path(owner, destination)
        if self.backend.list_dir(target):
            destination = f"{clean_path(destination)}/{origin.rsplit('/', 1)[-1]}"
            target = data_path(owner, destination)
        if target == origin or target.startswith(origin + "/"):
            raise FilestoreError(
                f"'{source}' cannot be moved into itself ('{destination}'); "
                "choose a destination outside it."
            )
        is_file = self.backend.size(origin) is not None
        if not is_file and not self.backend.list_dir(origin):
            raise NotFoundError(f"File '{source}' not found.")
        self.writable_data(owner, destination)
        if not is_file and self.backend.size(target) is not None:
            raise PathConflictError(
                f"'{destination}' is a file; the directory '{source}' cannot "
                "replace it. Delete it first or choose another destination."
            )
        return destination, _move_tree(self.backend, origin, target)

    # Multipart uploads

    def start_upload(
        self,
        owner: str,
        kind: str,
        *,
        path: str = "",
        file_hash: str = "",
        mode: int = 0,
        file_name: str = "",
        expires_at: int = 0,
    ) -> UploadRecord:
        target = self._upload_target(
            owner, kind, path, file_hash, file_name, expires_at
        )
        record = UploadRecord(
            upload_id=uuid.uuid4().hex,
            backend_id=self.backend.create_multipart(target),
            owner=owner,
            kind=kind,
            target=target,
            created=time.time(),
            file_hash=file_hash,
            mode=mode,
        )
        self._save_record(record)
        return record

    def upload_part(
        self, owner: str, upload_id: str, number: int, stream: BinaryIO
    ) -> PartInfo:
        record = self.upload_record(owner, upload_id)
        return self.backend.upload_part(
            record.target, record.backend_id, number, stream
        )

    def list_parts(self, owner: str, upload_id: str) -> list[PartInfo]:
        record = self.upload_record(owner, upload_id)
        return self.backend.list_parts(record.target, record.backend_id)

    def complete_upload(
        self, owner: str, upload_id: str, numbers: list[int] | None
    ) -> tuple[UploadRecord, int]:
        record = self.upload_record(owner, upload_id)
        if numbers is None:
            stored = self.backend.list_parts(record.target, record.backend_id)
            numbers = sorted(part.number for part in stored)
        size = self.backend.complete_multipart(
            record.target, record.backend_id, numbers
        )
        self._forget(record)
        if record.kind == "app":
            self._verify_app_file(record)
        return record, size

    def cancel_upload(self, owner: str, upload_id: str) -> None:
        record = self.upload_record(owner, upload_id)
        self._abort(record)

    def upload_record(self, owner: str, upload_id: str) -> UploadRecord:
        if not upload_id.isalnum():
            raise NotFoundError(f"Upload {upload_id!r} does not exist.")
        name = f"uploads/{upload_id}.json"
        if self.backend.size(name) is None:
            raise NotFoundError(f"Upload {upload_id!r} does not exist.")
        record = UploadRecord(**json.loads(b"".join(self.backend.read(name))))
        if record.owner != owner:
            raise NotFoundError(f"Upload {upload_id!r} does not exist.")
        return record

    # KV

    def kv_get(self, owner: str, database: str, key: str) -> bytes | None:
        name = self._kv_name(owner, database, key)
        if self.backend.size(name) is None:
            return None
        entry = json.loads(b"".join(self.backend.read(name)))
        if entry["expires_at"] < time.time():
            self.backend.delete(name)
            return None
        return base64.b64decode(entry["value"])

    def kv_set(
        self, owner: str, database: str, key: str, value: bytes, ttl: int
    ) -> None:
        limit = self.settings.kv_max_value_bytes
        if len(value) > limit:
            raise TooLargeError(
                f"The value of key {key!r} is {len(value)} bytes; the KV store "
                f"keeps values of at most {limit} bytes. Store large data in a "
                "file and keep its URL instead."
            )
        if not KV_MIN_TTL <= ttl <= KV_MAX_TTL:
            raise FilestoreError(
                f"TTL {ttl} s is out of range; use {KV_MIN_TTL} to {KV_MAX_TTL} s."
            )
        entry = {
            "expires_at": time.time() + ttl,
            "value": base64.b64encode(value).decode(),
        }
        body = json.dumps(entry).encode()
        self.backend.write(self._kv_name(owner, database, key), io.BytesIO(body))

    def kv_delete(self, owner: str, database: str, key: str) -> bool:
        return self.backend.delete(self._kv_name(owner, database, key))

    # Expiry

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """Remove expired public files and KV entries, abort stale uploads."""
        now = time.time() if now is None else now
        counts = {
            "uploads": self._sweep_uploads(now - self.settings.upload_ttl_seconds),
            "public": self._sweep_public(now),
            "kv": self._sweep_kv(now),
        }
        logger.debug("Swept expired objects: %s", counts)
        return counts

    # Helpers

    def _upload_target(
        self,
        owner: str,
        kind: str,
        path: str,
        file_hash: str,
        file_name: str,
        expires_at: int,
    ) -> str:
        if kind == "data":
            return self.writable_data(owner, path)
        if kind == "public":
            return public_path(owner, file_name or "file", expires_at)
        if kind == "app":
            return f"apps/{check_owner(owner)}/{check_hash(file_hash)}"
        raise FilestoreError(
            f"Upload kind {kind!r} is unknown; use one of {', '.join(UPLOAD_KINDS)}."
        )

    def _verify_app_file(self, record: UploadRecord) -> None:
        actual = app_file_hash(self.backend.read(record.target), record.mode)
        if actual != record.file_hash:
            self.backend.delete(record.target)
            raise HashMismatchError(
                f"The content of app file {record.file_hash} hashes to {actual}; "
                "upload the file's exact bytes and mode."
            )

    def _save_record(self, record: UploadRecord) -> None:
        body = json.dumps(asdict(record)).encode()
        self.backend.write(f"uploads/{record.upload_id}.json", io.BytesIO(body))

    def _forget(self, record: UploadRecord) -> None:
        self.backend.delete(f"uploads/{record.upload_id}.json")

    def _abort(self, record: UploadRecord) -> None:
        try:
            self.backend.abort_multipart(record.target, record.backend_id)
        except UploadNotFoundError:
            logger.debug("Upload %s had no parts left to remove", record.upload_id)
        self._forget(record)

    def _sweep_uploads(self, started_before: float) -> int:
        stale = [
            info
            for info in self.backend.list_dir("uploads")
            if not info.is_dir and info.path.endswith(".json")
        ]
        count = 0
        for info in stale:
            record = UploadRecord(**json.loads(b"".join(self.backend.read(info.path))))
            if record.created < started_before:
                self._abort(record)
                count += 1
        # Parts whose record is gone (a crash between the two writes).
        self.backend.expire_multipart(started_before)
        return count

    def _sweep_public(self, now: float) -> int:
        expired = [
            info.path
            for info in self.backend.walk("public")
            if 0 < public_expiry(info.path) < now
        ]
        for path in expired:
            self.backend.delete(path)
        return len(expired)

    def _sweep_kv(self, now: float) -> int:
        count = 0
        for info in list(self.backend.walk("kv")):
            entry = json.loads(b"".join(self.backend.read(info.path)))
            if entry["expires_at"] < now:
                self.backend.delete(info.path)
                count += 1
        return count

    def _kv_name(self, owner: str, database: str, key: str) -> str:
        for value, what in ((database, "Database"), (key, "Key")):
            if not KV_NAME_PATTERN.match(value):
                raise PathError(
                    f"{what} name {value!r} may hold only letters, digits and "
                    "'_.:-', start with a letter or digit, and be 1 to 255 long."
                )
        return f"kv/{check_owner(owner)}/{database}/{key}"


def _move_tree(backend: BlobBackend, source: str, destination: str) -> int:
    if backend.move(source, destination):
        return 1
    moved = 0
    for info in list(backend.walk(source)):
        backend.move(info.path, destination + info.path[len(source) :])
        moved += 1
    return moved


class _DigestReader:
    def __init__(self, stream: BinaryIO, digest: Any) -> None:
        self._stream = stream
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._digest.update(chunk)
        return chunk
