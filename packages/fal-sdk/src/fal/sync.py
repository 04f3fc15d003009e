"""``sync_dir``: copy a local directory into the owner's persistent ``/data``."""

from __future__ import annotations

from pathlib import Path

from fal.files import ROOT, FalFileSystem

__all__ = ["sync_dir"]


def sync_dir(
    local_dir: str | Path,
    remote_dir: str,
    force_upload: bool = False,
    *,
    fs: FalFileSystem | None = None,
) -> str:
    """Upload every file below ``local_dir`` to ``remote_dir`` in ``/data``.

    A file whose remote copy has the same size and is not older than the
    local one is skipped, unless ``force_upload``. Returns the remote
    directory as ``/data/<remote_dir>``; runners see it below
    ``FAL_PERSISTENT_DIR``.
    """
    source = Path(local_dir)
    if not source.is_dir():
        raise NotADirectoryError(f"{source} is not a directory; pass a directory.")
    fs = fs or FalFileSystem()
    remote_root = remote_dir.removeprefix(ROOT).strip("/")
    if not remote_root:
        raise ValueError("remote_dir names /data itself; name a directory in it.")
    remote = _remote_listing(fs, remote_root)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = f"{remote_root}/{path.relative_to(source).as_posix()}"
        if force_upload or not _up_to_date(path, remote.get(f"{ROOT}/{target}")):
            fs.put_file(str(path), target)
    return f"{ROOT}/{remote_root}"


def _remote_listing(fs: FalFileSystem, remote_root: str) -> dict[str, dict]:
    """Every file below ``remote_root`` by name; empty when it does not exist."""
    try:
        found = fs.find(remote_root, detail=True)
    except FileNotFoundError:
        return {}
    return dict(found) if isinstance(found, dict) else {}


def _up_to_date(local: Path, remote: dict | None) -> bool:
    if remote is None:
        return False
    stat = local.stat()
    mtime = remote.get("mtime") or 0
    return bool(remote.get("size") == stat.st_size and mtime >= stat.st_mtime)
