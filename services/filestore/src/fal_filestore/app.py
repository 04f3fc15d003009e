"""HTTP API of the filestore: put, get and delete blobs by path."""

from __future__ import annotations

import mimetypes

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from fal_filestore.backends import BlobBackend, PathError, clean_path

BYTES_WRITTEN = Counter("filestore_bytes_written", "Bytes stored by uploads.")


class _RequestStream:
    """A file-like view of a request body that the backend can read from."""

    def __init__(self, body: bytes) -> None:
        self._body = memoryview(body)
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._body) if size < 0 else self._offset + size
        chunk = bytes(self._body[self._offset : end])
        self._offset += len(chunk)
        return chunk


def create_app(backend: BlobBackend) -> FastAPI:
    """Build the filestore's FastAPI application over ``backend``."""
    app = FastAPI(title="fal filestore")

    @app.exception_handler(PathError)
    async def _bad_path(_: Request, error: PathError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.put("/files/{path:path}")
    async def put_file(path: str, request: Request) -> dict[str, object]:
        name = clean_path(path)
        size = backend.write(name, _RequestStream(await request.body()))
        BYTES_WRITTEN.inc(size)
        return {"path": name, "size": size}

    @app.get("/files/{path:path}")
    async def get_file(path: str) -> StreamingResponse:
        name = clean_path(path)
        size = backend.size(name)
        if size is None:
            raise HTTPException(404, detail=f"File '{name}' not found.")
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = {"content-length": str(size)}
        return StreamingResponse(
            backend.read(name), media_type=media_type, headers=headers
        )

    @app.delete("/files/{path:path}")
    async def delete_file(path: str) -> dict[str, str]:
        name = clean_path(path)
        if not backend.delete(name):
            raise HTTPException(404, detail=f"File '{name}' not found.")
        return {"path": name}

    return app
