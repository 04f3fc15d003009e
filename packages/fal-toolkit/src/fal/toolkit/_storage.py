"""Where toolkit files go: the filestore when there is one, else data URIs."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx

from fal.toolkit.exceptions import DownloadError, FileUploadException
from fal.upload import (
    MULTIPART_THRESHOLD,
    FileStoreError,
    PublicFileMultipartUpload,
    filestore_client,
    get_filestore_url,
    lifecycle_headers,
    request_with_retries,
)

logger = logging.getLogger(__name__)


def store_bytes(
    data: bytes, content_type: str, file_name: str, expires_in: int | None = None
) -> str:
    """Store ``data`` and return its URL (a data URI without a filestore)."""
    url = get_filestore_url()
    if url is None:
        return data_uri(data, content_type)
    try:
        with filestore_client(url) as client:
            response = request_with_retries(
                client,
                "POST",
                "/public-upload",
                params={"file_name": file_name},
                content=data,
                headers={"content-type": content_type, **lifecycle_headers(expires_in)},
            )
    except FileStoreError as error:
        raise FileUploadException(f"Uploading {file_name!r} failed: {error}") from error
    return str(response.json()["url"])


def store_path(
    path: Path, content_type: str, file_name: str, expires_in: int | None = None
) -> str:
    """Store the file at ``path``; large files go up in parallel parts."""
    if path.stat().st_size < MULTIPART_THRESHOLD or get_filestore_url() is None:
        return store_bytes(path.read_bytes(), content_type, file_name, expires_in)
    try:
        with filestore_client() as client:
            upload = PublicFileMultipartUpload(client, file_name, expires_in)
            return upload.upload_file(path)
    except FileStoreError as error:
        raise FileUploadException(f"Uploading {path} failed: {error}") from error


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def read_url(url: str) -> bytes:
    """The bytes behind ``url``: a data URI, or an http(s) download."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if header.endswith(";base64"):
            return base64.b64decode(payload)
        from urllib.parse import unquote_to_bytes

        return unquote_to_bytes(payload)
    try:
        response = httpx.get(url, follow_redirects=True, timeout=300)
    except httpx.HTTPError as error:
        raise DownloadError(f"Reading {url} failed: {error}") from error
    if not response.is_success:
        raise DownloadError(f"Reading {url} failed with status {response.status_code}.")
    return response.content
