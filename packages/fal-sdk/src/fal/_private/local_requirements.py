"""Requirements that name local paths, shipped to the filestore at deploy.

A requirement such as ``./my_pkg``, ``/abs/pkg`` or ``dist/pkg-1.0-py3-none-any
.whl`` only exists on the deploying machine. ``upload_local_requirement``
uploads it as a content-addressed app file and returns a reference the
scheduler's environment builder resolves::

    fal-app-file:<hash>/<name>

``hash`` is the app-file address (``fal.file_sync.compute_hash``) and
``name`` the file or directory name the builder installs it under (a wheel
keeps its file name, which pip parses). A directory is sent as an
uncompressed tar whose members carry only names, contents and modes, so the
same tree always gives the same hash: the environment key follows the
content, and a changed local package builds a new environment.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

__all__ = [
    "REFERENCE_PREFIX",
    "is_local_requirement",
    "pack_directory",
    "upload_local_requirement",
]

REFERENCE_PREFIX = "fal-app-file:"
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
_SKIPPED_NAMES = frozenset({"__pycache__", ".git", ".venv", ".mypy_cache", "build"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def is_local_requirement(requirement: str) -> bool:
    """True for a requirement that names a path on this machine."""
    text = requirement.strip()
    if text.startswith(("./", "../", "~", "/")):
        return True
    return "://" not in text and text.endswith(_ARCHIVE_SUFFIXES)


def pack_directory(source: Path, target: Path) -> None:
    """Write ``source`` as a reproducible tar at ``target``.

    Caches and build leftovers (``__pycache__``, ``.git``, ``*.egg-info``,
    ``build``...) are left out: they differ between machines and runs.
    """
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(_walk(source)):
            relative = path.relative_to(source).as_posix()
            info = tarfile.TarInfo(relative)
            info.mode = path.stat().st_mode & 0o7777
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
                continue
            data = path.read_bytes()
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def upload_local_requirement(requirement: str, base_file: str) -> str:
    """Upload the local path ``requirement`` names; return its reference.

    Relative paths are relative to the current directory, as for pip.
    Raises ValueError naming the requirement when the path does not exist
    or the filestore cannot take it.
    """
    from fal.file_sync import DEFAULT_CHUNK_SIZE, FileMetadata, FileSync
    from fal.upload import FileStoreError

    path = Path(requirement.strip()).expanduser()
    if not path.exists():
        raise ValueError(
            f"requirement {requirement!r} names a local path that does not "
            f"exist (looked in {Path.cwd()})."
        )
    path = path.resolve()
    with tempfile.TemporaryDirectory(prefix="fal-requirement-") as scratch:
        if path.is_dir():
            upload_path = Path(scratch) / f"{path.name}.tar"
            pack_directory(path, upload_path)
            upload_path.chmod(0o644)
        else:
            upload_path = path
        metadata = FileMetadata.from_path(
            upload_path, relative=path.name, absolute=str(upload_path)
        )
        sync = FileSync(base_file)
        try:
            if sync.check_hashes_on_server([metadata.hash]):
                sync.upload_file(metadata, DEFAULT_CHUNK_SIZE)
        except FileStoreError as error:
            raise ValueError(
                f"requirement {requirement!r} names a local path, which is "
                f"uploaded at deploy, but the upload failed: {error}"
            ) from error
        finally:
            sync.close()
    return f"{REFERENCE_PREFIX}{metadata.hash}/{path.name}"


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, names, files in os.walk(root):
        names[:] = [n for n in names if not _skipped(n)]
        base = Path(directory)
        found += [base / n for n in names]
        found += [base / f for f in files if not _skipped(f)]
    return found


def _skipped(name: str) -> bool:
    return name in _SKIPPED_NAMES or name.endswith(_SKIPPED_SUFFIXES)
