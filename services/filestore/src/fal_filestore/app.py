"""HTTP API of the filestore.

Callers send ``Authorization: Key <id>:<secret>``; an ``Authenticator`` turns
the request into the owner whose namespace it works in (see ``auth.py``).
Bodies are spooled to disk as they arrive, so an upload holds at most one
spool chunk of it in memory, whatever its size.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import mimetypes
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, BinaryIO, cast

import httpx
from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from starlette.concurrency import run_in_threadpool

from fal_filestore.auth import AuthenticationError, Authenticator, KeyAuthenticator
from fal_filestore.backends import BlobBackend, PathError, UploadNotFoundError
from fal_filestore.service import (
    Filestore,
    FilestoreError,
    Settings,
    data_path,
    public_expiry,
)
from fal_filestore.urls import UnsafeURLError, check_fetchable_url

logger = logging.getLogger(__name__)

BYTES_WRITTEN = Counter("filestore_bytes_written", "Bytes stored by uploads.")
BYTES_READ = Counter("filestore_bytes_read", "Bytes served by downloads.")
SPOOL_MEMORY = 1024 * 1024
LIFECYCLE_HEADER = "x-fal-object-lifecycle-preference"
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
    }
)


def _request_owner(request: Request) -> str:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.owner(request.headers)


Owner = Annotated[str, Depends(_request_owner)]


def create_app(
    backend: BlobBackend,
    *,
    settings: Settings | None = None,
    authenticator: Authenticator | None = None,
    public_url: str | None = None,
    sweep_interval: float = 300.0,
) -> FastAPI:
    """Build the filestore's FastAPI application over ``backend``.

    ``public_url`` is the base of the URLs handed out for public files; the
    request's own base URL is used when it is None.
    """
    store = Filestore(backend, settings)
    auth = authenticator or KeyAuthenticator()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with _periodic(lambda: run_in_threadpool(store.sweep), sweep_interval):
            yield

    app = FastAPI(title="fal filestore", lifespan=lifespan)
    app.state.filestore = store
    app.state.authenticator = auth
    _add_error_handlers(app)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # Raw blobs by store name, for the platform's own services.

    @app.put("/files/{path:path}")
    async def put_file(path: str, request: Request) -> dict[str, object]:
        auth.check_internal(request.headers)
        size = await _store_body(request, lambda body: backend.write(path, body))
        return {"path": _clean(path), "size": size}

    @app.get("/files/{path:path}")
    async def get_file(path: str, request: Request) -> Response:
        auth.check_internal(request.headers)
        return await _serve(backend, _clean(path), request)

    @app.delete("/files/{path:path}")
    async def delete_file(path: str, request: Request) -> dict[str, str]:
        auth.check_internal(request.headers)
        if not await run_in_threadpool(backend.delete, _clean(path)):
            raise HTTPException(404, detail=f"File '{path}' not found.")
        return {"path": path}

    # The owner's persistent /data.

    @app.get("/data-ls")
    @app.get("/data-ls/{path:path}")
    async def list_data(owner: Owner, path: str = "") -> dict[str, object]:
        root = data_path(owner, "")
        name = data_path(owner, path)
        size = await run_in_threadpool(backend.size, name)
        if size is not None:
            entries = [{"path": path, "size": size, "type": "file"}]
            return {"entries": entries}
        infos = await run_in_threadpool(backend.list_dir, name)
        return {"entries": [_entry(info, root) for info in infos]}

    @app.get("/data/{path:path}")
    async def get_data(path: str, owner: Owner, request: Request) -> Response:
        return await _serve(backend, data_path(owner, path), request)

    @app.put("/data/{path:path}")
    async def put_data(path: str, owner: Owner, request: Request) -> dict[str, object]:
        name = await run_in_threadpool(store.writable_data, owner, path)
        size = await _store_body(request, lambda body: backend.write(name, body))
        return {"path": path, "size": size}

    @app.post("/data-from-url/{path:path}")
    async def put_data_from_url(
        path: str, owner: Owner, url: Annotated[str, Body(embed=True)]
    ) -> dict[str, object]:
        name = await run_in_threadpool(store.writable_data, owner, path)
        allow = store.settings.allow_private_urls
        await run_in_threadpool(check_fetchable_url, url, allow_private=allow)
        size = await _fetch_into(url, lambda body: backend.write(name, body))
        return {"path": path, "size": size}

    @app.post("/data-move")
    async def move_data(
        owner: Owner,
        source: Annotated[str, Body()],
        destination: Annotated[str, Body()],
    ) -> dict[str, object]:
        final, moved = await run_in_threadpool(
            store.move_data, owner, source, destination
        )
        return {"source": source, "destination": final, "moved": moved}

    @app.delete("/data/{path:path}")
    async def delete_data(
        path: str, owner: Owner, recursive: bool = False
    ) -> dict[str, object]:
        name = data_path(owner, path)
        removed = await run_in_threadpool(_delete_tree, backend, name, recursive)
        if not removed:
            raise HTTPException(404, detail=f"File '{path}' not found.")
        return {"path": path, "removed": removed}

    # Public files: toolkit outputs anyone with the URL may read.

    @app.post("/public-upload")
    async def upload_public(
        owner: Owner,
        request: Request,
        file_name: str = "file",
    ) -> dict[str, object]:
        expires_at = _lifecycle_expiry(request.headers.get(LIFECYCLE_HEADER))
        record = store.start_upload(
            owner, "public", file_name=file_name, expires_at=expires_at
        )
        await _store_body(
            request, lambda body: store.upload_part(owner, record.upload_id, 1, body)
        )
        _, size = await run_in_threadpool(
            store.complete_upload, owner, record.upload_id, [1]
        )
        return {"url": _public_url(request, public_url, record.target), "size": size}

    @app.get("/public/{path:path}")
    async def get_public(path: str, request: Request) -> Response:
        name = "public/" + _clean(path)
        if 0 < public_expiry(name) < time.time():
            raise HTTPException(404, detail=f"File '{path}' has expired.")
        return await _serve(backend, name, request)

    # Content-addressed app files.

    @app.post("/app-files/missing")
    async def missing_app_files(
        owner: Owner, hashes: Annotated[list[str], Body(embed=True)]
    ) -> dict[str, list[str]]:
        missing = await run_in_threadpool(store.missing_hashes, owner, hashes)
        return {"missing": missing}

    @app.put("/app-files/{file_hash}")
    async def put_app_file(
        file_hash: str, owner: Owner, request: Request, mode: int = 0o644
    ) -> dict[str, object]:
        size = await _store_body(
            request, lambda body: store.put_app_file(owner, file_hash, mode, body)
        )
        return {"hash": file_hash, "size": size}

    @app.get("/app-files/{file_hash}")
    async def get_app_file(file_hash: str, owner: Owner, request: Request) -> Response:
        store.missing_hashes(owner, [file_hash])  # validates the hash
        return await _serve(backend, f"apps/{owner}/{file_hash}", request)

    # Multipart uploads into any of the namespaces above.

    @app.post("/multipart")
    async def start_multipart(
        owner: Owner, request: Request, target: Annotated[dict[str, Any], Body()]
    ) -> dict[str, object]:
        expires_at = _lifecycle_expiry(request.headers.get(LIFECYCLE_HEADER))
        record = await run_in_threadpool(
            lambda: store.start_upload(
                owner,
                str(target.get("kind", "")),
                path=str(target.get("path", "")),
                file_hash=str(target.get("hash", "")),
                mode=_file_mode(target.get("mode", 0o644)),
                file_name=str(target.get("file_name", "")),
                expires_at=expires_at,
            )
        )
        return {"upload_id": record.upload_id}

    @app.put("/multipart/{upload_id}/parts/{number}")
    async def upload_part(
        upload_id: str, number: int, owner: Owner, request: Request
    ) -> dict[str, object]:
        part = await _store_body(
            request, lambda body: store.upload_part(owner, upload_id, number, body)
        )
        return {"number": part.number, "size": part.size, "etag": part.etag}

    @app.get("/multipart/{upload_id}")
    async def list_parts(upload_id: str, owner: Owner) -> dict[str, object]:
        parts = await run_in_threadpool(store.list_parts, owner, upload_id)
        return {
            "upload_id": upload_id,
            "parts": [
                {"number": p.number, "size": p.size, "etag": p.etag} for p in parts
            ],
        }

    @app.post("/multipart/{upload_id}/complete")
    async def complete_multipart(
        upload_id: str,
        owner: Owner,
        request: Request,
        parts: Annotated[list[int] | None, Body(embed=True)] = None,
    ) -> dict[str, object]:
        record, size = await run_in_threadpool(
            store.complete_upload, owner, upload_id, parts
        )
        result: dict[str, object] = {"size": size}
        if record.kind == "public":
            result["url"] = _public_url(request, public_url, record.target)
        elif record.kind == "data":
            result["path"] = record.target.split("/", 2)[2]
        else:
            result["hash"] = record.file_hash
        return result

    @app.delete("/multipart/{upload_id}")
    async def cancel_multipart(upload_id: str, owner: Owner) -> dict[str, str]:
        await run_in_threadpool(store.cancel_upload, owner, upload_id)
        return {"upload_id": upload_id}

    # Key-value store.

    @app.get("/kv/{database}/{key:path}")
    async def kv_get(database: str, key: str, owner: Owner) -> Response:
        value = await run_in_threadpool(store.kv_get, owner, database, key)
        if value is None:
            raise HTTPException(404, detail=f"Key {key!r} not found in {database!r}.")
        return Response(value, media_type="application/octet-stream")

    @app.put("/kv/{database}/{key:path}")
    async def kv_set(
        database: str,
        key: str,
        owner: Owner,
        request: Request,
        ttl: Annotated[int, Query()] = 30 * 24 * 3600,
    ) -> dict[str, str]:
        value = await _read_limited(request, store.settings.kv_max_value_bytes)
        await run_in_threadpool(store.kv_set, owner, database, key, value, ttl)
        return {"key": key}

    @app.delete("/kv/{database}/{key:path}")
    async def kv_delete(database: str, key: str, owner: Owner) -> dict[str, str]:
        if not await run_in_threadpool(store.kv_delete, owner, database, key):
            raise HTTPException(404, detail=f"Key {key!r} not found in {database!r}.")
        return {"key": key}

    return app


def _add_error_handlers(app: FastAPI) -> None:
    def as_json(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        async def handler(_: Request, error: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(error)}, status_code=status)

        return handler

    app.add_exception_handler(PathError, as_json(400))
    app.add_exception_handler(UnsafeURLError, as_json(400))
    app.add_exception_handler(AuthenticationError, as_json(401))
    app.add_exception_handler(UploadNotFoundError, as_json(404))

    async def filestore_error(_: Request, error: Exception) -> JSONResponse:
        status = cast(FilestoreError, error).status_code
        return JSONResponse({"detail": str(error)}, status_code=status)

    app.add_exception_handler(FilestoreError, filestore_error)
    app.add_exception_handler(OSError, _os_error)


# A local backend's OSErrors that come from what the caller asked for (a file
# where a directory is, a name too long) are the caller's mistake, not ours.
CALLER_ERRNOS = {
    errno.EEXIST: 409,
    errno.EISDIR: 409,
    errno.ENOTDIR: 409,
    errno.ENOTEMPTY: 409,
    errno.EINVAL: 400,
    errno.ENAMETOOLONG: 400,
}


async def _os_error(request: Request, error: Exception) -> JSONResponse:
    code = getattr(error, "errno", None)
    status = CALLER_ERRNOS.get(code) if isinstance(code, int) else None
    if status is None:
        logger.error("Filestore request failed", exc_info=error)
        return JSONResponse(
            {"detail": "The filestore could not complete the request."},
            status_code=500,
        )
    reason = os.strerror(code) if isinstance(code, int) else str(error)
    path = request.path_params.get("path")
    subject = f"Path '{path}'" if path else "The request"
    detail = f"{subject} conflicts with the files stored: {reason}."
    return JSONResponse({"detail": detail}, status_code=status)


def _file_mode(value: object) -> int:
    """An app file's permission bits from a multipart start, or HTTP 422."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777:
        return value
    raise HTTPException(
        422,
        detail=f"mode {value!r} is not a file mode; send an integer from 0 to "
        "4095, like 420 for 0o644.",
    )


def _clean(path: str) -> str:
    from fal_filestore.backends import clean_path

    return clean_path(path)


async def _store_body(request: Request, store: Callable[[BinaryIO], Any]) -> Any:
    """Spool the request body to a temporary file, then hand it to ``store``."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
        received = 0
        async for chunk in request.stream():
            spool.write(chunk)
            received += len(chunk)
        spool.seek(0)
        BYTES_WRITTEN.inc(received)
        return await run_in_threadpool(store, cast(BinaryIO, spool))


async def _read_limited(request: Request, limit: int) -> bytes:
    """Read a small body, refusing with 413 as soon as it passes ``limit``."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(
                413,
                detail=f"The value is over the KV store's limit of {limit} bytes; "
                "store large data in a file and keep its URL instead.",
            )
    return bytes(body)


async def _fetch_into(url: str, store: Callable[[BinaryIO], int]) -> int:
    """Download ``url`` (no redirects to elsewhere) to a spool, then store it."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
        async with (
            httpx.AsyncClient(follow_redirects=False, timeout=60) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise HTTPException(
                    502,
                    detail=f"Fetching {url} answered {response.status_code}; "
                    "the file was not stored.",
                )
            async for chunk in response.aiter_bytes():
                spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(store, cast(BinaryIO, spool))


async def _serve(backend: BlobBackend, name: str, request: Request) -> Response:
    """Stream blob ``name``, honouring a single-range ``Range`` header."""
    size = await run_in_threadpool(backend.size, name)
    if size is None:
        shown = name.split("/", 2)[-1] if name.startswith("data/") else name
        raise HTTPException(404, detail=f"File '{shown}' not found.")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"accept-ranges": "bytes", **_safety_headers(media_type)}
    byte_range = _parse_range(request.headers.get("range"), size)
    if byte_range is None:
        headers["content-length"] = str(size)
        return StreamingResponse(
            _counted(backend.read(name)), media_type=media_type, headers=headers
        )
    start, end = byte_range
    headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    headers["content-length"] = str(end - start)
    return StreamingResponse(
        _counted(backend.read(name, start, end)),
        status_code=206,
        media_type=media_type,
        headers=headers,
    )


def _safety_headers(media_type: str) -> dict[str, str]:
    """Headers that stop a stored file acting as a page of the filestore's
    origin (where /data and /kv answer): no sniffing, a sandbox, and active
    types (HTML, SVG, XML, scripts) as downloads."""
    headers = {
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
    }
    if media_type in ACTIVE_TYPES or media_type.endswith("+xml"):
        headers["content-disposition"] = "attachment"
    return headers


def _counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        BYTES_READ.inc(len(chunk))
        yield chunk


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` as [start, end); None: all."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            start, end = max(size - int(last), 0), size
        else:
            start = int(first)
            end = min(int(last) + 1, size) if last else size
    except ValueError:
        return None
    if start >= size or start >= end:
        raise HTTPException(
            416,
            detail=f"Range {header!r} is outside the file of {size} bytes.",
            headers={"content-range": f"bytes */{size}"},
        )
    return start, end


def _lifecycle_expiry(header: str | None) -> int:
    """The expiry epoch asked for by ``X-Fal-Object-Lifecycle-Preference``."""
    if not header:
        return 0
    try:
        preference = json.loads(header)
        seconds = preference.get("expiration_duration_seconds")
    except (ValueError, AttributeError) as error:
        raise HTTPException(
            400,
            detail=f"{LIFECYCLE_HEADER} must be JSON like "
            '{"expiration_duration_seconds": 3600}.',
        ) from error
    if seconds is None:
        return 0
    if not isinstance(seconds, int) or seconds <= 0:
        raise HTTPException(
            400,
            detail=f"expiration_duration_seconds must be a positive integer, "
            f"not {seconds!r}.",
        )
    return math.ceil(time.time()) + seconds


def _public_url(request: Request, base: str | None, target: str) -> str:
    root = (base or str(request.base_url)).rstrip("/")
    return f"{root}/{target}"


def _entry(info: Any, root: str) -> dict[str, object]:
    relative = info.path[len(root) + 1 :]
    kind = "directory" if info.is_dir else "file"
    return {
        "path": relative,
        "size": info.size,
        "type": kind,
        "mtime": info.modified,
    }


def _delete_tree(backend: BlobBackend, name: str, recursive: bool) -> int:
    if backend.delete(name):
        return 1
    if not recursive:
        if backend.list_dir(name):
            raise HTTPException(
                409,
                detail="The path is a directory; pass recursive=true to delete it.",
            )
        return 0
    removed = 0
    for info in list(backend.walk(name)):
        backend.delete(info.path)
        removed += 1
    return removed


@asynccontextmanager
async def _periodic(
    job: Callable[[], Awaitable[object]], interval: float
) -> AsyncIterator[None]:
    """Run ``job`` every ``interval`` seconds while the context is open."""
    import asyncio
    import logging

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job()
            except Exception:
                logging.getLogger(__name__).exception("Periodic sweep failed")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
