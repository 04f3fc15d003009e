"""Build and cache the virtual environments runners run in.

An environment is a function of the app's requirement steps, its Python
minor version, the package index settings and the fal packages installed
into it; ``env_key`` hashes exactly those. Environments live at
``HOME/envs/<env_key>``. A build happens in a temporary directory next to
the target and is renamed into place, so a half-built environment is never
visible; an existing directory is a finished environment and is reused.
A rebuild (``no_cache``) builds a fresh copy the same way and swaps it in;
the replaced copy is moved aside, not deleted, because runners started
from it may still import from it, and it is removed by the key's next build.

The fal runtime packages (and their dependencies) are the same in every
environment of one Python version, so they are installed once into a
runtime base, ``HOME/envs/.runtime-<key>``, and each environment starts as
a hard-linked copy of it; uv then installs the app's requirement steps and
re-checks the runtime's requirements, which costs nothing when nothing
changed. uv links files from its own cache the same way and replaces files
rather than writing into them, so a build never changes the base.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

import httpx

from fal_scheduler.errors import EnvironmentBuildError
from fal_scheduler.pipconfig import IndexSettings

__all__ = [
    "BuildLogSink",
    "BuiltEnvironment",
    "EnvironmentBuilder",
    "EnvironmentProvider",
    "FalSource",
    "find_fal_sources",
]

logger = logging.getLogger(__name__)

BuildLogSink = Callable[[str, str], Awaitable[None]]
"""Receives ``(message, level)`` for each line of build output."""

_FAL_DISTRIBUTIONS = ("fal-sdk", "fal-proto", "fal-toolkit")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PYTHON_VERSION = re.compile(r"^\d+\.\d+$")
# Local-path requirements uploaded at deploy (fal._private.local_requirements).
_UPLOAD_PREFIX = "fal-app-file:"
_UPLOAD_HASH = re.compile(r"^[0-9a-f]{64}$")
_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


@dataclass(frozen=True)
class FalSource:
    """How one fal distribution is installed into app environments.

    An editable source with ``link_files`` is not rebuilt by uv for every
    environment (building an editable wheel costs seconds each time): its
    ``.pth`` and ``.dist-info`` files, which only point at the source tree,
    are copied from this interpreter's installation, and only its
    ``dependencies`` are installed with uv.
    """

    name: str
    requirement: str  # a path or "name==version"
    editable: bool = False
    link_files: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()

    def install_args(self) -> list[str]:
        return ["-e", self.requirement] if self.editable else [self.requirement]

    @property
    def linked(self) -> bool:
        return self.editable and bool(self.link_files)


@dataclass(frozen=True)
class BuiltEnvironment:
    """A finished environment."""

    env_key: str
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


class EnvironmentProvider(Protocol):
    """What the runner pools need: an environment for requirements."""

    async def ensure(
        self,
        requirements: Sequence[Sequence[str]],
        python_version: str,
        on_log: BuildLogSink | None = None,
    ) -> BuiltEnvironment: ...


def find_fal_sources() -> list[FalSource]:
    """Locate the installed fal distributions to put into app environments.

    A distribution installed from a local directory is installed from that
    directory (editable when its source is editable); any other is pinned
    to the installed version.
    """
    sources = []
    for name in _FAL_DISTRIBUTIONS:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        sources.append(_source_of(name, distribution))
    return sources


def _source_of(name: str, distribution: importlib.metadata.Distribution) -> FalSource:
    direct_url = distribution.read_text("direct_url.json")
    if direct_url:
        info = json.loads(direct_url)
        url = urlparse(info.get("url", ""))
        if url.scheme == "file" and "dir_info" in info:
            editable = bool(info["dir_info"].get("editable", False))
            path = unquote(url.path)
            if editable:
                return _editable_source(name, path, distribution)
            return FalSource(name, path)
    return FalSource(name, f"{name}=={distribution.version}")


def _editable_source(
    name: str, path: str, distribution: importlib.metadata.Distribution
) -> FalSource:
    files = [
        str(entry.locate())
        for entry in distribution.files or []
        if _is_link_file(str(entry))
    ]
    dependencies = _pyproject_dependencies(Path(path))
    if not files or dependencies is None:
        return FalSource(name, path, editable=True)
    return FalSource(name, path, True, tuple(sorted(files)), tuple(dependencies))


def _is_link_file(entry: str) -> bool:
    """An editable install's own files: top-level .pth, its dist-info."""
    parts = Path(entry).parts
    if len(parts) == 1:
        return entry.endswith(".pth")
    # RECORD is written anew; uv's own cache notes describe the original.
    return (
        len(parts) == 2
        and parts[0].endswith(".dist-info")
        and parts[1] != "RECORD"
        and not parts[1].startswith("uv_")
    )


def _pyproject_dependencies(source: Path) -> list[str] | None:
    try:
        with open(source / "pyproject.toml", "rb") as handle:
            project = tomllib.load(handle).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    dependencies = project.get("dependencies", [])
    if "dependencies" in project.get("dynamic", []) or not isinstance(
        dependencies, list
    ):
        return None
    return [str(item) for item in dependencies]


class EnvironmentBuilder:
    """Builds environments with uv under ``HOME/envs``, once per key."""

    def __init__(
        self,
        home: Path,
        index: IndexSettings,
        fal_sources: Sequence[FalSource],
        uv_binary: str | None = None,
        filestore_url: str | None = None,
    ) -> None:
        self.envs_dir = home / "envs"
        self.filestore_url = filestore_url
        self.index = index
        self.fal_sources = tuple(fal_sources)
        self._uv_binary = uv_binary
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def uv_binary(self) -> str:
        if self._uv_binary is None:
            from uv import find_uv_bin

            self._uv_binary = find_uv_bin()
        return self._uv_binary

    def env_key(
        self, requirements: Sequence[Sequence[str]], python_version: str
    ) -> str:
        """The content hash naming the environment of these inputs."""
        document = {
            "requirements": [list(step) for step in requirements],
            "python": _minor_version(python_version),
            "index": self.index.as_json(),
            "fal": [
                [
                    source.name,
                    source.requirement,
                    source.editable,
                    list(source.dependencies),
                ]
                for source in self.fal_sources
            ],
        }
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def env_path(self, env_key: str) -> Path:
        return self.envs_dir / env_key

    async def ensure(
        self,
        requirements: Sequence[Sequence[str]],
        python_version: str,
        on_log: BuildLogSink | None = None,
        *,
        no_cache: bool = False,
    ) -> BuiltEnvironment:
        """Return the environment for these inputs, building it if missing.

        ``no_cache`` rebuilds it even when it exists, asking uv to revalidate
        what it cached, and replaces the old copy only once the new one is
        complete.
        """
        env_key = self.env_key(requirements, python_version)
        built = BuiltEnvironment(env_key, self.env_path(env_key))
        if built.path.exists() and not no_cache:
            await _emit(on_log, f"Reusing environment {env_key}.", "INFO")
            return built

        # One build per key: an asyncio lock inside this process, a file
        # lock across processes. Re-check after each: someone may have won.
        lock = self._locks.setdefault(env_key, asyncio.Lock())
        async with lock, self._file_lock(env_key):
            if built.path.exists() and not no_cache:
                await _emit(on_log, f"Reusing environment {env_key}.", "INFO")
                return built
            if no_cache:
                await _emit(on_log, f"Rebuilding environment {env_key}.", "INFO")
            await self._build(built, requirements, python_version, on_log, no_cache)
        return built

    @contextlib.asynccontextmanager
    async def _file_lock(self, env_key: str) -> AsyncIterator[None]:
        locks_dir = self.envs_dir / ".locks"
        locks_dir.mkdir(parents=True, exist_ok=True)
        handle = open(locks_dir / f"{env_key}.lock", "a+")  # noqa: SIM115
        try:
            await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
            yield
        finally:
            handle.close()  # closing releases the lock

    async def _build(
        self,
        built: BuiltEnvironment,
        requirements: Sequence[Sequence[str]],
        python_version: str,
        on_log: BuildLogSink | None,
        no_cache: bool = False,
    ) -> None:
        self._remove_stale_builds(built.env_key)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{built.env_key}.building-", dir=self.envs_dir)
        )
        started = time.monotonic()
        logger.info("Building environment %s in %s", built.env_key, staging)
        try:
            if self.fal_sources:
                base = await self._ensure_runtime_base(python_version, on_log, no_cache)
                await asyncio.to_thread(_link_tree, base, staging)
            else:
                await self._create_venv(staging, python_version, on_log)
            refresh = ["--refresh"] if no_cache else []
            async with self._fetched_uploads(built.env_key, requirements) as steps:
                await self._install_steps(staging, steps, on_log, refresh)
            await self._install_fal_runtime(staging, on_log)
            self._move_into_place(staging, built.path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        elapsed = time.monotonic() - started
        logger.info("Built environment %s in %.1f s", built.env_key, elapsed)
        await _emit(
            on_log, f"Environment {built.env_key} built in {elapsed:.1f} s.", "INFO"
        )

    @contextlib.asynccontextmanager
    async def _fetched_uploads(
        self, env_key: str, requirements: Sequence[Sequence[str]]
    ) -> AsyncIterator[list[list[str]]]:
        """The steps with each uploaded local requirement downloaded.

        A ``fal-app-file:<hash>/<name>`` reference is fetched from the
        filestore into a scratch directory next to the build (a directory
        package arrives as a tar and is unpacked) and replaced by its path;
        the scratch directory is removed once the steps are installed.
        """
        uploads = {
            r for step in requirements for r in step if r.startswith(_UPLOAD_PREFIX)
        }
        if not uploads:
            yield [list(step) for step in requirements]
            return
        if not self.filestore_url:
            raise EnvironmentBuildError(
                f"The requirement {sorted(uploads)[0]!r} is a local path uploaded "
                "at deploy, but this scheduler has no filestore to fetch it "
                "from; start it with --filestore-url."
            )
        scratch = Path(
            tempfile.mkdtemp(prefix=f".{env_key}.sources-", dir=self.envs_dir)
        )
        try:
            paths: dict[str, str] = {}
            async with httpx.AsyncClient(
                base_url=self.filestore_url, timeout=300
            ) as client:
                for reference in sorted(uploads):
                    paths[reference] = await _fetch_upload(client, reference, scratch)
            yield [[paths.get(r, r) for r in step] for step in requirements]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def runtime_base_path(self, python_version: str) -> Path:
        """Where the runtime base of this Python version lives."""
        document = {
            "python": _minor_version(python_version),
            "index": self.index.as_json(),
            "fal": [
                [s.name, s.requirement, s.editable, list(s.dependencies)]
                for s in self.fal_sources
            ],
        }
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(canonical.encode()).hexdigest()[:24]
        return self.envs_dir / f".runtime-{key}"

    async def _ensure_runtime_base(
        self, python_version: str, on_log: BuildLogSink | None, no_cache: bool
    ) -> Path:
        """The runtime base for ``python_version``, built once (atomically)."""
        base = self.runtime_base_path(python_version)
        if base.exists() and not no_cache:
            return base
        lock = self._locks.setdefault(base.name, asyncio.Lock())
        async with lock, self._file_lock(base.name):
            if base.exists() and not no_cache:
                return base
            self._remove_stale_builds(base.name)
            staging = Path(
                tempfile.mkdtemp(prefix=f".{base.name}.building-", dir=self.envs_dir)
            )
            try:
                await self._create_venv(staging, python_version, on_log)
                await self._install_fal_runtime(staging, on_log)
                self._move_into_place(staging, base)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return base

    def _remove_stale_builds(self, env_key: str) -> None:
        # Only called under the key's file lock: half-built leftovers are
        # from a crash, replaced copies from an earlier rebuild.
        patterns = ("building", "replaced", "sources")
        for pattern in (f".{env_key}.{kind}-*" for kind in patterns):
            for leftover in self.envs_dir.glob(pattern):
                shutil.rmtree(leftover, ignore_errors=True)

    def _move_into_place(self, staging: Path, target: Path) -> None:
        if target.exists():
            replaced = tempfile.mkdtemp(
                prefix=f".{target.name}.replaced-", dir=self.envs_dir
            )
            os.rename(target, Path(replaced) / target.name)
        os.rename(staging, target)

    async def _create_venv(
        self, staging: Path, python_version: str, on_log: BuildLogSink | None
    ) -> None:
        python = _python_request(python_version)
        await _emit(on_log, f"Creating a Python {python_version} environment.", "INFO")
        command = [self.uv_binary, "venv", "--relocatable", "--allow-existing"]
        command += ["--python", python, str(staging)]
        code, output = await self._run(command, on_log)
        if code != 0:
            raise EnvironmentBuildError(
                f"Could not create a Python {python_version} environment: "
                f"{_error_summary(output)}"
            )

    async def _install_steps(
        self,
        staging: Path,
        requirements: Sequence[Sequence[str]],
        on_log: BuildLogSink | None,
        extra_flags: Sequence[str] = (),
    ) -> None:
        for number, step in enumerate(requirements, start=1):
            if not step:
                continue
            await _emit(on_log, f"Step {number}: installing {' '.join(step)}", "INFO")
            args = [*extra_flags, *step]
            code, output = await self._install(staging, args, on_log)
            if code != 0:
                raise EnvironmentBuildError(
                    f"Requirement step {number} ({' '.join(step)}) failed: "
                    f"{_error_summary(output)}"
                )

    async def _install_fal_runtime(
        self, staging: Path, on_log: BuildLogSink | None
    ) -> None:
        linked = [source for source in self.fal_sources if source.linked]
        fal_args = _runtime_install_args(self.fal_sources)
        if fal_args:
            await _emit(on_log, "Installing the fal runtime packages.", "INFO")
            code, output = await self._install(staging, fal_args, on_log)
            if code != 0:
                raise EnvironmentBuildError(
                    "Installing the fal runtime packages "
                    f"({' '.join(fal_args)}) failed: {_error_summary(output)}"
                )
        if linked:
            site_packages = _site_packages(staging)
            for source in linked:
                _link_editable(source, site_packages)

    async def _install(
        self, staging: Path, args: list[str], on_log: BuildLogSink | None
    ) -> tuple[int, list[str]]:
        command = [self.uv_binary, "pip", "install", "--python"]
        command += [str(staging / "bin" / "python"), *self.index.uv_flags(), *args]
        return await self._run(command, on_log)

    async def _run(
        self, command: list[str], on_log: BuildLogSink | None
    ) -> tuple[int, list[str]]:
        """Run uv, streaming each output line to ``on_log`` as it comes."""
        environment = {**os.environ, "NO_COLOR": "1"}
        environment.pop("VIRTUAL_ENV", None)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=environment,
        )
        assert process.stdout is not None
        output: list[str] = []
        try:
            async for raw in process.stdout:
                line = _ANSI.sub("", raw.decode(errors="replace")).rstrip()
                if line:
                    output.append(line)
                    await _emit(on_log, line, "INFO")
            return await process.wait(), output
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _fetch_upload(
    client: httpx.AsyncClient, reference: str, scratch: Path
) -> str:
    """Download one uploaded requirement under ``scratch``; return its path."""
    file_hash, _, name = reference.removeprefix(_UPLOAD_PREFIX).partition("/")
    if not _UPLOAD_HASH.match(file_hash) or not _UPLOAD_NAME.match(name):
        raise EnvironmentBuildError(
            f"The requirement {reference!r} is not a valid uploaded-file "
            "reference (fal-app-file:<sha256>/<name>)."
        )
    folder = scratch / file_hash
    folder.mkdir()
    download = folder / f"{name}.download"
    try:
        async with client.stream("GET", f"/app-files/{file_hash}") as response:
            if not response.is_success:
                raise EnvironmentBuildError(
                    f"The uploaded requirement {name} ({file_hash}) could not be "
                    f"fetched from the filestore (HTTP {response.status_code}); "
                    "deploy the app again to upload it."
                )
            with download.open("wb") as out:
                async for chunk in response.aiter_bytes(1024 * 1024):
                    out.write(chunk)
    except httpx.HTTPError as error:
        raise EnvironmentBuildError(
            f"The uploaded requirement {name} ({file_hash}) could not be "
            f"fetched from the filestore: {error}"
        ) from error
    target = folder / name
    if tarfile.is_tarfile(download) and not name.endswith(_ARCHIVE_SUFFIXES):
        # A directory package, sent as a tar of its tree.
        target.mkdir()
        await asyncio.to_thread(_unpack, download, target)
        download.unlink()
    else:
        download.rename(target)
    return str(target)


def _unpack(archive: Path, target: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")


def _runtime_install_args(sources: Sequence[FalSource]) -> list[str]:
    """uv arguments for the fal packages: linked ones contribute their deps."""
    own_names = {_normalized(source.name) for source in sources}
    args: list[str] = []
    for source in sources:
        if not source.linked:
            args += source.install_args()
            continue
        for dependency in source.dependencies:
            if (
                _requirement_name(dependency) not in own_names
                and dependency not in args
            ):
                args.append(dependency)
    return args


def _site_packages(environment: Path) -> Path:
    found = sorted(environment.glob("lib/python*/site-packages"))
    if not found:
        raise EnvironmentBuildError(f"{environment} has no lib/python*/site-packages.")
    return found[0]


def _link_editable(source: FalSource, site_packages: Path) -> None:
    """Copy an editable install's pointer files and write their RECORD."""
    record: list[str] = []
    dist_info = ""
    for file_name in source.link_files:
        original = Path(file_name)
        if original.parent.name.endswith(".dist-info"):
            dist_info = original.parent.name
            relative = f"{dist_info}/{original.name}"
        else:
            relative = original.name
        _replace_file(site_packages / relative, original.read_bytes())
        record.append(f"{relative},,")
    if dist_info:
        record.append(f"{dist_info}/RECORD,,")
        text = "\n".join(record) + "\n"
        _replace_file(site_packages / dist_info / "RECORD", text.encode())


def _replace_file(target: Path, content: bytes) -> None:
    """Write a new file over ``target``: hard links of the old one keep it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def _link_tree(source: Path, target: Path) -> None:
    """Copy the tree at ``source`` into ``target`` with hard links."""
    for directory, subdirectories, files in os.walk(source):
        relative = Path(directory).relative_to(source)
        destination = target / relative
        destination.mkdir(exist_ok=True)
        for name in subdirectories:
            path = Path(directory, name)
            if path.is_symlink():
                os.symlink(os.readlink(path), destination / name)
        for name in files:
            path = Path(directory, name)
            if path.is_symlink():
                os.symlink(os.readlink(path), destination / name)
            else:
                os.link(path, destination / name)


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return _normalized(match.group(1)) if match else requirement


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _minor_version(python_version: str) -> str:
    version = python_version.strip() or f"{sys.version_info[0]}.{sys.version_info[1]}"
    if not _PYTHON_VERSION.match(version):
        parts = version.split(".")
        if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
            raise EnvironmentBuildError(
                f"Python version {python_version!r} is not of the form "
                "'major.minor', e.g. '3.11'."
            )
        version = ".".join(parts[:2])
    return version


def _python_request(python_version: str) -> str:
    version = _minor_version(python_version)
    if version == f"{sys.version_info[0]}.{sys.version_info[1]}":
        return sys.executable
    return version


def _error_summary(output: list[str]) -> str:
    """The resolver's message: output from its first error line on."""
    for index, line in enumerate(output):
        stripped = line.lstrip()
        if stripped.startswith(("error:", "\u00d7", "x ")):
            return "\n".join(output[index:])
    return "\n".join(output[-20:]) or "uv exited without output"


async def _emit(on_log: BuildLogSink | None, message: str, level: str) -> None:
    if on_log is not None:
        await on_log(message, level)
