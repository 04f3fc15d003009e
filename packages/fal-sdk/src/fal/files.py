"""``FalFileSystem``: the owner's persistent ``/data`` as an fsspec filesystem.

Paths may be written as ``/data/models/x``, ``/models/x`` or ``models/x``;
all three name the same file. Listings name entries ``/data/<path>``, the
path runners see below ``FAL_PERSISTENT_DIR``. Errors follow fsspec's
conventions: a missing path raises FileNotFoundError, ``mode="create"`` on
an existing file FileExistsError, a path the filestore refuses ValueError.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from fsspec import AbstractFileSystem

from fal._private.config import Config
from fal.upload import (
    DEFAULT_CHUNK_SIZE,
    DataFileMultipartUpload,
    FileStoreError,
    filestore_client,
    request_with_retries,
)

__all__ = ["FalFileSystem"]

ROOT = "/data"


class FalFileSystem(AbstractFileSystem):
    """The owner's ``/data`` files, kept by the platform's filestore.

    ``host`` is the filestore's URL (default: ``FAL_FILESTORE_URL``, then the
    profile's ``filestore_url``); ``team`` the owner to act for; ``profile``
    the config profile to read both and the key from.
    """

    protocol = "fal"
    cachable = False

    def __init__(
        self,
        *,
        host: str | None = None,
        team: str | None = None,
        profile: str | None = None,
        **kwargs: Any,
    ) -> None:
        client = kwargs.pop("client", None)
        super().__init__(**kwargs)
        self._client: httpx.Client = client or filestore_client(
            host, owner=team, config=Config(profile=profile)
        )

    # Reading

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        relative = _relative(path)
        response = self._call("GET", _url("/data-ls", relative), path)
        entries = [_entry(item) for item in response.json()["entries"]]
        if not entries and relative and not self._is_dir(relative):
            raise FileNotFoundError(f"{_shown(relative)} does not exist in /data.")
        return entries if detail else [entry["name"] for entry in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        relative = _relative(path)
        if not relative:
            return {"name": ROOT, "size": 0, "type": "directory"}
        parent = relative.rpartition("/")[0]
        for entry in self.ls(parent, detail=True):
            if entry["name"] == _shown(relative):
                return dict(entry)
        raise FileNotFoundError(f"{_shown(relative)} does not exist in /data.")

    def get_file(self, rpath: str, lpath: str, **kwargs: Any) -> None:
        """Download ``rpath`` to the local ``lpath``, written atomically."""
        relative = _relative(rpath)
        target = Path(lpath)
        if target.is_dir():
            target = target / relative.rsplit("/", 1)[-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}."
        )
        try:
            with os.fdopen(descriptor, "wb") as out:
                self._download(relative, out)
            os.replace(temporary, target)
        except FileNotFoundError:
            Path(temporary).unlink(missing_ok=True)
            if not (relative and self._is_dir(relative)):
                raise
            target.mkdir(exist_ok=True)  # fsspec's get() passes directories too
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    # Writing

    def put_file(
        self, lpath: str, rpath: str, mode: str = "overwrite", **kwargs: Any
    ) -> str | None:
        """Upload the local file ``lpath`` to ``rpath``; big files in parts.

        Like ``cp``, an ``rpath`` ending in '/' or naming a directory receives
        the file under its own name. Return where it was stored
        (``/data/...``). An interrupted upload in parts is cancelled, so that
        none of its parts stay behind.
        """
        source = Path(lpath)
        if source.is_dir():
            return None  # fsspec's put() calls this for directories too.
        rpath = self._into_directory(rpath, source.name)
        relative = self._writable(rpath, mode)
        chunk_size = int(kwargs.get("chunk_size", DEFAULT_CHUNK_SIZE))
        if source.stat().st_size > chunk_size:
            upload = DataFileMultipartUpload(
                self._client, relative, chunk_size=chunk_size
            )
            try:
                self._translated(lambda: upload.upload_file(source), rpath)
            except BaseException:
                _cancel_quietly(upload)
                raise
            return _shown(relative)
        url = _url("/data", relative)
        self._call("PUT", url, rpath, content=source.read_bytes())
        return _shown(relative)

    def put_file_from_url(
        self, url: str, rpath: str, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """Have the filestore fetch ``url`` into ``rpath``."""
        relative = self._writable(rpath, mode)
        route = _url("/data-from-url", relative)
        self._call("POST", route, rpath, json={"url": url})

    def mv(
        self,
        path1: str,
        path2: str,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Move a file, or a directory with everything below it."""
        source, destination = _relative(path1), _relative(path2)
        if not source or not destination:
            raise ValueError("Moving /data itself, or onto it, is not possible.")
        body = {"source": source, "destination": destination}
        self._call("POST", "/data-move", path1, json=body)

    def rename(self, path1: str, path2: str, **kwargs: Any) -> None:
        self.mv(path1, path2, **kwargs)

    def rm(
        self,
        path: str | list[str],
        recursive: bool = False,
        maxdepth: int | None = None,
    ) -> None:
        """Delete files; directories only with ``recursive=True``."""
        for one in [path] if isinstance(path, str) else path:
            relative = _relative(one)
            if not relative:
                raise ValueError("Deleting /data itself is not possible.")
            params = {"recursive": "true"} if recursive else {}
            self._call("DELETE", _url("/data", relative), one, params=params)

    def _rm(self, path: str) -> None:
        self.rm(path)

    # Helpers

    def _is_dir(self, relative: str) -> bool:
        parent, _, _ = relative.rpartition("/")
        listing = self._call("GET", _url("/data-ls", parent), relative)
        entries = listing.json()["entries"]
        return any(
            item["path"] == relative and item["type"] == "directory" for item in entries
        )

    def _into_directory(self, rpath: str, name: str) -> str:
        """``rpath``, or ``rpath/name`` when it ends in '/' or is a directory."""
        relative = _relative(rpath)
        if rpath.endswith("/") or not relative or self._is_dir(relative):
            return _shown(f"{relative}/{name}" if relative else name)
        return rpath

    def _writable(self, rpath: str, mode: str) -> str:
        relative = _relative(rpath)
        if not relative:
            raise ValueError("Writing to /data itself is not possible; name a file.")
        if mode not in ("overwrite", "create"):
            raise ValueError(f"mode is {mode!r}; use 'overwrite' or 'create'.")
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(f"{_shown(relative)} exists; use mode='overwrite'.")
        return relative

    def _download(self, relative: str, out: Any) -> None:
        try:
            with self._client.stream("GET", _url("/data", relative)) as response:
                if not response.is_success:
                    response.read()
                    _raise_for(response, relative)
                for chunk in response.iter_bytes(1024 * 1024):
                    out.write(chunk)
        except httpx.TransportError as error:
            raise FileStoreError(
                f"The filestore at {self._client.base_url} is unreachable: {error}"
            ) from error

    def _call(self, method: str, url: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._translated(
            lambda: request_with_retries(self._client, method, url, **kwargs), path
        )

    def _translated(self, call: Any, path: str) -> Any:
        """Run ``call``, turning the filestore's 400/404/409 into fsspec's errors."""
        try:
            return call()
        except FileStoreError as error:
            if error.status_code == 404:
                raise FileNotFoundError(
                    f"{_shown(_relative(path))} does not exist in /data."
                ) from error
            if error.status_code in (400, 409):
                raise ValueError(str(error)) from error
            raise


def _relative(path: str) -> str:
    """``/data/a/b``, ``/a/b`` or ``a/b`` as the filestore's ``a/b``.

    Raises ValueError for a path that could leave /data: HTTP clients would
    otherwise resolve its ``..`` before the filestore could refuse it.
    """
    original = path
    path = path.removeprefix("fal://")
    if path == ROOT or path.startswith(ROOT + "/"):
        path = path[len(ROOT) :]
    path = path.strip("/")
    parts = path.split("/") if path else []
    if "\x00" in path or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"Path {original!r} may not contain '.', '..', empty components, "
            "backslashes or NUL bytes; name a file inside /data."
        )
    return path


def _url(route: str, relative: str) -> str:
    """``route/relative`` with the path's characters escaped for a URL."""
    return f"{route}/{quote(relative, safe='/')}" if relative else route


def _shown(relative: str) -> str:
    return f"{ROOT}/{relative}" if relative else ROOT


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": _shown(item["path"]),
        "size": item.get("size", 0),
        "type": item["type"],
        "mtime": item.get("mtime"),
    }


def _cancel_quietly(upload: DataFileMultipartUpload) -> None:
    """Cancel ``upload`` on the way out of a failure; the failure is what the
    caller needs to see, so a failed cancel (the sweep removes it later) is not
    raised over it."""
    with contextlib.suppress(Exception):
        upload.cancel()


def _raise_for(response: httpx.Response, relative: str) -> None:
    if response.status_code == 404:
        raise FileNotFoundError(f"{_shown(relative)} does not exist in /data.")
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if response.status_code == 400:
        raise ValueError(detail)
    raise FileStoreError(
        f"Downloading {_shown(relative)} failed with {response.status_code}: {detail}",
        response.status_code,
    )
