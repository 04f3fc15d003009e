"""App files: uploaded at deploy, written into the runner's working directory.

At deploy, ``sync_app_files`` uploads the files named by ``App.app_files``
(minus ``app_files_ignore``, relative to ``app_files_context_dir``) to the
filestore and returns their manifest: one ``FileMetadata.to_dict()`` per
file. The manifest travels inside the pickled App class (the attribute
``MANIFEST_ATTRIBUTE``), so the runner needs nothing else to find them.
Before ``setup()`` the runtime calls ``materialize_into_working_dir``.

A class pickled by reference (defined in an installed package rather than
in the deployed file) loses the attribute, and its runners get no files.
"""

from __future__ import annotations

import atexit
import inspect
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fal.exceptions import AppLoadError

MANIFEST_ATTRIBUTE = "_fal_app_files_manifest"
WORKDIR_VARIABLE = "FAL_RUNNER_WORKDIR"


def sync_app_files(app_class: type[Any]) -> list[dict[str, str]]:
    """Upload the app's files that the filestore lacks; return the manifest."""
    if not app_class.app_files:
        return []
    from fal.file_sync import FileSync
    from fal.upload import FileStoreError

    base = app_class.local_file_path or inspect.getfile(app_class)
    sync = FileSync(base)
    try:
        files, failures = sync.sync_files(
            list(app_class.app_files),
            files_ignore=[re.compile(p) for p in app_class.app_files_ignore or []],
            files_context_dir=app_class.app_files_context_dir,
        )
    except (FileNotFoundError, ValueError) as error:
        raise AppLoadError(f"{app_class.__name__}.app_files: {error}") from error
    except FileStoreError as error:
        raise AppLoadError(
            f"The app files of {app_class.__name__} could not be uploaded: {error}"
        ) from error
    finally:
        sync.close()
    if failures:
        listing = "; ".join(f"{failure.path}: {failure}" for failure in failures)
        raise AppLoadError(f"These app files could not be uploaded: {listing}")
    return [metadata.to_dict() for metadata in files]


@contextmanager
def carrying_manifest(
    app_class: type[Any], manifest: list[dict[str, str]]
) -> Iterator[None]:
    """Attach ``manifest`` to ``app_class`` while it is being pickled."""
    if not manifest:
        yield
        return
    setattr(app_class, MANIFEST_ATTRIBUTE, manifest)
    try:
        yield
    finally:
        delattr(app_class, MANIFEST_ATTRIBUTE)


def materialize_into_working_dir(app_class: type[Any]) -> Path | None:
    """Write the app's files into a fresh working directory and enter it.

    The directory is ``FAL_RUNNER_WORKDIR`` when set, else a new temporary
    one; it is also put first on ``sys.path``. Returns None (and changes
    nothing) for an app without files. A file missing from the filestore
    raises FileStoreError naming it.
    """
    manifest = app_class.__dict__.get(MANIFEST_ATTRIBUTE)
    if not manifest:
        return None
    from fal.file_sync import materialize_app_files
    from fal.upload import filestore_client

    configured = os.environ.get(WORKDIR_VARIABLE)
    if configured:
        workdir = Path(configured)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="fal-app-files-"))
        # Gone when the runner exits normally; a SIGKILL leaves it in $TMPDIR.
        atexit.register(shutil.rmtree, workdir, True)
    with filestore_client() as client:
        materialize_app_files(manifest, workdir, client)
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    return workdir
