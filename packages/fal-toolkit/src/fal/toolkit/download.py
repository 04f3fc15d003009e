"""Downloads into the runner: files, model weights and git repositories.

Every download goes to a temporary name beside its target and is renamed
into place, so a reader never sees half a file; model weights and
repositories are cached under the persistent directory and guarded by a
file lock, so two runners fetching the same thing at once fetch it once.
URLs resolving to private, loopback or link-local addresses are refused
unless ``FAL_ALLOW_PRIVATE_DOWNLOADS`` is set by the operator.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from fal.toolkit.exceptions import DownloadError

MAX_REDIRECTS = 5
TRUE_VALUES = ("1", "true", "yes", "on")


def persistent_dir() -> Path:
    """The owner's persistent directory: ``FAL_PERSISTENT_DIR`` or /data."""
    return Path(os.environ.get("FAL_PERSISTENT_DIR") or "/data")


def download_file(
    url: str,
    target_dir: str | Path,
    *,
    force: bool = False,
    request_headers: dict[str, str] | None = None,
    filesize_limit: int | None = None,
    file_name: str | None = None,
) -> Path:
    """Download ``url`` into ``target_dir``; return the file's path.

    An existing file of the same name is kept unless ``force``. Raises
    DownloadError naming the URL and status when the server fails, sends an
    HTML page, or the file is over ``filesize_limit`` bytes.
    """
    directory = Path(target_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with _open_download(url, request_headers or {}) as response:
        name = file_name or _file_name(response, url)
        target = directory / name
        if target.exists() and not force:
            return target
        _write_atomically(response, target, url, filesize_limit)
    return target


def download_model_weights(
    url: str,
    force: bool = False,
    request_headers: dict[str, str] | None = None,
) -> Path:
    """Download weights once per owner, cached by the URL's SHA-256."""
    digest = hashlib.sha256(url.encode()).hexdigest()
    directory = persistent_dir() / ".fal" / "model_weights" / digest
    with _locked(directory):
        existing = _cached_file(directory)
        if existing is not None and not force:
            return existing
        return download_file(
            url, directory, force=True, request_headers=request_headers
        )


def clone_repository(
    https_url: str,
    *,
    commit_hash: str | None = None,
    target_dir: str | Path | None = None,
    repo_name: str | None = None,
    force: bool = False,
    include_to_path: bool = False,
) -> Path:
    """Clone a git repository once per owner; return the checkout's path."""
    if urlsplit(https_url).scheme in ("http", "https"):
        check_download_url(https_url)
    name = repo_name or Path(urlsplit(https_url).path).stem or "repository"
    if commit_hash:
        name = f"{name}-{commit_hash[:12]}"
    base = Path(target_dir) if target_dir else persistent_dir() / ".fal" / "repos"
    target = base / name
    with _locked(target):
        if force and target.exists():
            shutil.rmtree(target)
        if not target.exists():
            _clone_into(https_url, commit_hash, target)
    if include_to_path and str(target) not in sys.path:
        sys.path.insert(0, str(target))
    return target


def check_download_url(url: str) -> None:
    """Refuse non-http(s) URLs and, unless allowed, non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"Cannot download {url!r}: only http(s) URLs are allowed.")
    if os.environ.get("FAL_ALLOW_PRIVATE_DOWNLOADS", "").lower() in TRUE_VALUES:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise DownloadError(f"Cannot download {url}: host does not resolve.") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise DownloadError(
                f"Cannot download {url}: it resolves to the non-public address "
                f"{address}. Set FAL_ALLOW_PRIVATE_DOWNLOADS=1 to allow it."
            )


@contextmanager
def _open_download(url: str, headers: dict[str, str]) -> Iterator[httpx.Response]:
    """Open a streaming GET, checking every redirect hop's address."""
    with httpx.Client(timeout=httpx.Timeout(60.0, read=300.0)) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_download_url(url)
            try:
                request = client.build_request("GET", url, headers=headers)
                response = client.send(request, stream=True)
            except httpx.HTTPError as error:
                raise DownloadError(f"Downloading {url} failed: {error}") from error
            if not response.is_redirect:
                break
            response.close()
            url = urljoin(url, response.headers["location"])
        else:
            raise DownloadError(f"Downloading {url} redirected too many times.")
        try:
            _check_response(response, url)
            yield response
        finally:
            response.close()


def _check_response(response: httpx.Response, url: str) -> None:
    if response.status_code != 200:
        raise DownloadError(
            f"Downloading {url} failed with status {response.status_code}."
        )
    content_type = response.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "text/html":
        raise DownloadError(
            f"Downloading {url} returned an HTML page (status "
            f"{response.status_code}) instead of a file; check that the URL "
            "points at the file itself and that no login is needed."
        )


def _write_atomically(
    response: httpx.Response, target: Path, url: str, limit: int | None
) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            written = 0
            for chunk in response.iter_bytes(1024 * 1024):
                written += len(chunk)
                if limit is not None and written > limit:
                    raise DownloadError(
                        f"Downloading {url} stopped: the file is over the "
                        f"limit of {limit} bytes."
                    )
                out.write(chunk)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _file_name(response: httpx.Response, url: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    match = re.search(r'filename="?([^";]+)"?', disposition)
    candidate = match.group(1) if match else unquote(urlsplit(url).path.split("/")[-1])
    name = Path(candidate).name
    if not name or name in (".", "..") or "\x00" in name:
        return hashlib.sha256(url.encode()).hexdigest()[:16]
    return name


def _cached_file(directory: Path) -> Path | None:
    if not directory.is_dir():
        return None
    files = [
        p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")
    ]
    return files[0] if files else None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path`` (works across processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.parent / f".{path.name}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _clone_into(url: str, commit_hash: str | None, target: Path) -> None:
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        _git("clone", "--quiet", url, str(temporary))
        if commit_hash:
            _git("-C", str(temporary), "checkout", "--quiet", commit_hash)
        temporary.rename(target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _git(*arguments: str) -> None:
    result = subprocess.run(["git", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise DownloadError(
            f"git {arguments[0]} failed ({result.returncode}): {result.stderr.strip()}"
        )
