"""Torch inductor caches kept in the persistent directory between runners.

``load_inductor_cache(key)`` copies ``/data/.fal/inductor_cache/<key>`` to a
local directory and points ``TORCHINDUCTOR_CACHE_DIR`` at it;
``sync_inductor_cache(key)`` copies new entries back. Local copies keep
compilation off the shared filesystem's latency.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fal.toolkit.download import persistent_dir

CACHE_VARIABLE = "TORCHINDUCTOR_CACHE_DIR"


def _shared_cache(cache_key: str) -> Path:
    name = Path(cache_key).name
    if not name or name != cache_key or name in (".", ".."):
        raise ValueError(f"Cache key {cache_key!r} must be a plain name.")
    return persistent_dir() / ".fal" / "inductor_cache" / name


def load_inductor_cache(cache_key: str) -> Path:
    """Copy the shared cache to a local directory and use it; return it."""
    local = Path(os.environ.get(CACHE_VARIABLE) or tempfile.mkdtemp(prefix="inductor-"))
    shared = _shared_cache(cache_key)
    if shared.is_dir():
        shutil.copytree(shared, local, dirs_exist_ok=True)
    os.environ[CACHE_VARIABLE] = str(local)
    return local


def sync_inductor_cache(cache_key: str) -> Path:
    """Copy the local cache's entries to the shared cache; return it."""
    local = os.environ.get(CACHE_VARIABLE)
    if not local:
        raise RuntimeError(
            f"{CACHE_VARIABLE} is not set; call load_inductor_cache first."
        )
    shared = _shared_cache(cache_key)
    staging = Path(tempfile.mkdtemp(dir=_ensure(shared.parent), prefix=".sync-"))
    shutil.copytree(local, staging, dirs_exist_ok=True)
    if shared.is_dir():
        shutil.copytree(staging, shared, dirs_exist_ok=True)
        shutil.rmtree(staging)
    else:
        staging.rename(shared)
    return shared


@contextmanager
def synchronized_inductor_cache(cache_key: str) -> Iterator[Path]:
    """Load the cache, run the block, then sync what it compiled."""
    local = load_inductor_cache(cache_key)
    yield local
    sync_inductor_cache(cache_key)


def _ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


__all__ = ["load_inductor_cache", "sync_inductor_cache", "synchronized_inductor_cache"]
