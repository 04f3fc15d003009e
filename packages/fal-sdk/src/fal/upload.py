"""Uploads to the filestore: the client, and multipart uploads of large files.

A multipart upload sends a file in ``chunk_size`` parts, ``max_concurrency``
at a time. Each worker streams its part from the file in ``STREAM_CHUNK``
pieces, so an upload holds at most ``max_concurrency`` such pieces in memory
(10 MiB with the defaults), not whole parts, whatever the file's size. Parts
that fail with 408, 429 or 5xx are retried; other 4xx answers are final.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from fal._private.config import Config
from fal._private.credentials import get_credentials
from fal.exceptions import MissingCredentialsError

DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_CONCURRENCY = 10
MULTIPART_THRESHOLD = 100 * 1024 * 1024
STREAM_CHUNK = 1024 * 1024
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5

__all__ = [
    "AppFileMultipartUpload",
    "BaseMultipartUpload",
    "DataFileMultipartUpload",
    "FileStoreError",
    "PublicFileMultipartUpload",
    "filestore_client",
    "get_filestore_url",
    "request_with_retries",
]


class FileStoreError(Exception):
    """The filestore refused a request or could not be reached.

    ``status_code`` is the filestore's HTTP status (None: unreachable).
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def get_filestore_url(config: Config | None = None) -> str | None:
    """The filestore's base URL: ``FAL_FILESTORE_URL``, then the profile's."""
    if os.environ.get("FAL_FILESTORE_URL"):
        return os.environ["FAL_FILESTORE_URL"].rstrip("/")
    configured = (config or Config()).get("filestore_url")
    return configured.rstrip("/") if configured else None


def filestore_client(
    url: str | None = None,
    *,
    timeout: float = 300.0,
    owner: str | None = None,
    config: Config | None = None,
) -> httpx.Client:
    """An HTTP client for the filestore, carrying the caller's key and owner.

    ``config`` selects the profile (default: the current one). Raises
    FileStoreError when no filestore is configured.
    """
    config = config or Config()
    base_url = url or get_filestore_url(config)
    if not base_url:
        raise FileStoreError(
            "No filestore is configured; set FAL_FILESTORE_URL or add "
            "filestore_url = ... to your profile."
        )
    headers: dict[str, str] = {}
    # A one-machine filestore accepts calls without a key.
    with contextlib.suppress(MissingCredentialsError):
        headers.update(get_credentials(config=config).to_headers())
    owner = owner or os.environ.get("FAL_APP_OWNER") or config.get("owner")
    if owner:
        headers["X-Fal-Owner"] = owner
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout)


def request_with_retries(
    client: httpx.Client, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send a request, retrying transient failures; raise FileStoreError."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as error:
            if attempt == MAX_ATTEMPTS:
                raise FileStoreError(
                    f"The filestore at {client.base_url} is unreachable: {error}"
                ) from error
        else:
            if response.status_code not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
                return _checked(response)
        time.sleep(min(0.2 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise FileStoreError(
        f"{response.request.method} {response.request.url.path} failed with "
        f"{response.status_code}: {detail}",
        response.status_code,
    )


class BaseMultipartUpload:
    """One multipart upload: initiate, send parts in parallel, complete.

    Subclasses say where the file goes (``get_initiate_payload``). An upload
    interrupted midway can be resumed with ``resume(upload_id)`` (parts the
    filestore has are not sent again) or abandoned with ``cancel()``.
    """

    def __init__(
        self,
        client: httpx.Client,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        self._client = client
        self._chunk_size = chunk_size
        self._max_concurrency = max_concurrency
        self._upload_id: str | None = None
        self._parts: list[int] = []

    @property
    def upload_id(self) -> str:
        if self._upload_id is None:
            raise FileStoreError("The upload has not been initiated yet.")
        return self._upload_id

    @property
    def initiate_url(self) -> str:
        return "/multipart"

    @property
    def part_url(self) -> str:
        return f"/multipart/{self.upload_id}/parts"

    @property
    def complete_url(self) -> str:
        return f"/multipart/{self.upload_id}/complete"

    @property
    def cancel_url(self) -> str | None:
        return f"/multipart/{self.upload_id}"

    def get_initiate_payload(self) -> dict | None:
        return None

    def get_initiate_headers(self) -> dict[str, str]:
        return {}

    def get_complete_payload(self, parts: list[int]) -> dict:
        return {"parts": parts}

    def initiate(self) -> str:
        response = request_with_retries(
            self._client,
            "POST",
            self.initiate_url,
            json=self.get_initiate_payload(),
            headers=self.get_initiate_headers(),
        )
        self._upload_id = str(response.json()["upload_id"])
        return self._upload_id

    def resume(self, upload_id: str) -> list[int]:
        """Continue ``upload_id``; return the part numbers already stored."""
        self._upload_id = upload_id
        response = request_with_retries(self._client, "GET", f"/multipart/{upload_id}")
        return [int(part["number"]) for part in response.json()["parts"]]

    def upload_file(
        self,
        file_path: str | Path,
        on_part_complete: Callable[[int], None] | None = None,
    ) -> str:
        """Send ``file_path`` and complete the upload; return its result."""
        stored = set(self.resume(self._upload_id) if self._upload_id else [])
        if self._upload_id is None:
            self.initiate()
        size = Path(file_path).stat().st_size
        count = max(1, -(-size // self._chunk_size))
        self._parts = list(range(1, count + 1))
        pending = [number for number in self._parts if number not in stored]

        def send(number: int) -> int:
            self._send_part(Path(file_path), number)
            if on_part_complete is not None:
                on_part_complete(number)
            return number

        # On a failure or Ctrl-C, parts not yet started are dropped rather than
        # sent; the parts in flight finish, so that a cancel removes them all.
        executor = ThreadPoolExecutor(max_workers=self._max_concurrency)
        try:
            list(executor.map(send, pending))
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return self.complete()

    def complete(self) -> str:
        response = request_with_retries(
            self._client,
            "POST",
            self.complete_url,
            json=self.get_complete_payload(self._parts),
        )
        return self.result(response.json())

    def result(self, body: dict[str, Any]) -> str:
        return str(body.get("path", ""))

    def cancel(self) -> None:
        if self.cancel_url is not None and self._upload_id is not None:
            request_with_retries(self._client, "DELETE", self.cancel_url)

    def _send_part(self, file_path: Path, number: int) -> None:
        part = FileRange(file_path, (number - 1) * self._chunk_size, self._chunk_size)
        request_with_retries(
            self._client,
            "PUT",
            f"{self.part_url}/{number}",
            content=part,
            headers={"content-length": str(part.size)},
        )


class AppFileMultipartUpload(BaseMultipartUpload):
    """A content-addressed app file; the filestore checks its hash."""

    def __init__(
        self,
        client: httpx.Client,
        file_hash: str,
        metadata: Any,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        super().__init__(client, chunk_size, max_concurrency)
        self.file_hash = file_hash
        self.metadata = metadata

    def get_initiate_payload(self) -> dict | None:
        return {"kind": "app", "hash": self.file_hash, "mode": self.metadata.mode}

    def result(self, body: dict[str, Any]) -> str:
        return str(body["hash"])


class DataFileMultipartUpload(BaseMultipartUpload):
    """A file in the owner's persistent /data, at ``remote_path``."""

    def __init__(self, client: httpx.Client, remote_path: str, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.remote_path = remote_path

    def get_initiate_payload(self) -> dict | None:
        return {"kind": "data", "path": self.remote_path}


class PublicFileMultipartUpload(BaseMultipartUpload):
    """A public file (toolkit output); the result is its URL."""

    def __init__(
        self,
        client: httpx.Client,
        file_name: str,
        expires_in: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(client, **kwargs)
        self.file_name = file_name
        self.expires_in = expires_in

    def get_initiate_payload(self) -> dict | None:
        return {"kind": "public", "file_name": self.file_name}

    def get_initiate_headers(self) -> dict[str, str]:
        return lifecycle_headers(self.expires_in)

    def result(self, body: dict[str, Any]) -> str:
        return str(body["url"])


def lifecycle_headers(expires_in: int | None) -> dict[str, str]:
    """The ``X-Fal-Object-Lifecycle-Preference`` header for an expiry."""
    if not expires_in:
        return {}
    value = f'{{"expiration_duration_seconds": {int(expires_in)}}}'
    return {"X-Fal-Object-Lifecycle-Preference": value}


class FileRange:
    """Bytes ``offset`` to ``offset + length`` of a file, read in pieces.

    Iterating opens the file again, so a retried request sends the part anew.
    """

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self.path = path
        self.offset = offset
        self.size = max(0, min(length, path.stat().st_size - offset))

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as source:
            source.seek(self.offset)
            remaining = self.size
            while remaining > 0:
                piece = source.read(min(STREAM_CHUNK, remaining))
                if not piece:
                    return
                remaining -= len(piece)
                yield piece
