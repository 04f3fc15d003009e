"""Runner backends: where runner processes live.

A backend starts one runner of a revision and returns when it answers
``GET /health``, or raises ``RunnerStartError`` (``RunnerSetupError`` when
the app's ``setup()`` raised). ``LocalProcessBackend`` runs each runner as a
subprocess of this machine; a cluster backend implements the same protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from fal_scheduler.errors import RunnerSetupError, RunnerStartError

__all__ = [
    "LocalProcessBackend",
    "LocalRunner",
    "RunnerBackend",
    "RunnerHandle",
    "RunnerSpec",
]

logger = logging.getLogger(__name__)

_POLL_INTERVAL = 0.05
_MAX_POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class RunnerSpec:
    """Everything needed to start one runner."""

    runner_id: str
    owner: str
    alias: str
    revision: str
    python: Path
    payload: Path
    startup_timeout: float
    # The app's secrets as environment variables; kept out of repr and logs.
    environment: dict[str, str] = field(default_factory=dict, repr=False)


class RunnerHandle(Protocol):
    """A started runner, as the pool sees it."""

    @property
    def runner_id(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    @property
    def exited(self) -> bool: ...

    async def wait(self) -> int | None:
        """Return when the runner has gone, with its exit code if known."""
        ...


class RunnerBackend(Protocol):
    """Starts and stops runners."""

    async def start(self, spec: RunnerSpec) -> RunnerHandle: ...

    async def stop(self, runner: RunnerHandle, grace: float) -> None: ...

    async def close(self, grace: float) -> None:
        """Stop every runner this backend started."""
        ...


@dataclass(eq=False)
class LocalRunner:
    """A runner process on this machine."""

    runner_id: str
    process: asyncio.subprocess.Process
    port: int
    status_file: Path
    log_file: Path
    _stopping: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Wall-clock time the process was spawned (uptime counts from here).
    started_at: float = field(default_factory=time.time)
    # What it runs; None for a handle made without one. Kept out of repr.
    spec: RunnerSpec | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    async def wait(self) -> int | None:
        return await self.process.wait()


class LocalProcessBackend:
    """Runs each runner as ``python -m fal._runtime`` in its own session."""

    def __init__(
        self,
        home: Path,
        runtime_module: str = "fal._runtime",
        extra_env: dict[str, str] | None = None,
        filestore_url: str | None = None,
        data_root: Path | None = None,
    ) -> None:
        self.logs_dir = home / "logs" / "runners"
        # runner_id -> owner of every runner started, so that its log stays
        # readable by its owner only, after it stopped too.
        self.owners: dict[str, str] = {}
        self.status_dir = home / "runners"
        self.runtime_module = runtime_module
        self.extra_env = dict(extra_env or {})
        self.filestore_url = filestore_url
        # The filestore's local backend keeps each owner's /data here.
        self.data_root = data_root or home / "files" / "data"
        self._runners: dict[str, LocalRunner] = {}
        self._client = httpx.AsyncClient(timeout=2.0)

    async def start(self, spec: RunnerSpec) -> LocalRunner:
        """Start a runner and wait until it is ready or has failed."""
        runner = await self._spawn(spec)
        self._runners[spec.runner_id] = runner
        try:
            await self._wait_ready(runner, spec.startup_timeout)
        except BaseException:
            await self.stop(runner, grace=5.0)
            raise
        return runner

    def runners(self) -> list[LocalRunner]:
        """Every runner started and not yet stopped, ready or still starting."""
        return list(self._runners.values())

    async def stop(self, runner: RunnerHandle, grace: float) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL the group."""
        assert isinstance(runner, LocalRunner)
        async with runner._stopping:
            was_running = not runner.exited
            await _terminate(runner.process, grace)
            if was_running:
                logger.info(
                    "Runner %s stopped (exit code %s)",
                    runner.runner_id,
                    runner.process.returncode,
                )
        self._runners.pop(runner.runner_id, None)
        runner.status_file.unlink(missing_ok=True)

    async def close(self, grace: float) -> None:
        runners = list(self._runners.values())
        await asyncio.gather(*(self.stop(runner, grace) for runner in runners))
        await self._client.aclose()

    async def _spawn(self, spec: RunnerSpec) -> LocalRunner:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.status_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        status_file = self.status_dir / f"{spec.runner_id}.status.json"
        status_file.unlink(missing_ok=True)
        log_file = self.logs_dir / f"{spec.runner_id}.log"
        self.owners[spec.runner_id] = spec.owner
        command = [str(spec.python), "-m", self.runtime_module]
        command += ["--payload", str(spec.payload), "--port", str(port)]
        command += ["--status-file", str(status_file)]
        with open(log_file, "ab") as log:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=self._environment(spec),
                start_new_session=True,
            )
        logger.debug("Spawned runner %s (pid %d)", spec.runner_id, process.pid)
        return LocalRunner(
            spec.runner_id, process, port, status_file, log_file, spec=spec
        )

    def _environment(self, spec: RunnerSpec) -> dict[str, str]:
        environment = dict(os.environ)
        # The scheduler's own interpreter settings must not leak into the
        # app's environment.
        for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            environment.pop(name, None)
        environment.update(spec.environment)
        environment.update(
            FAL_RUNNER_ID=spec.runner_id,
            FAL_APP_OWNER=spec.owner,
            FAL_APP_ALIAS=spec.alias,
            FAL_APP_REVISION=spec.revision,
            FAL_PARENT_PID=str(os.getpid()),
            PYTHONUNBUFFERED="1",
        )
        persistent_dir = self.data_root / spec.owner
        persistent_dir.mkdir(parents=True, exist_ok=True)
        environment["FAL_PERSISTENT_DIR"] = str(persistent_dir)
        if self.filestore_url:
            environment["FAL_FILESTORE_URL"] = self.filestore_url
        environment.update(self.extra_env)
        return environment

    async def _wait_ready(self, runner: LocalRunner, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        interval = _POLL_INTERVAL
        while time.monotonic() < deadline:
            if runner.exited:
                raise _exit_error(runner)
            if await self._healthy(runner):
                return
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, _MAX_POLL_INTERVAL)
        spec = runner.spec
        app = f"app {spec.owner}/{spec.alias}: " if spec is not None else ""
        raise RunnerStartError(
            f"{app}runner {runner.runner_id} did not become ready within "
            f"{timeout:g} s (startup_timeout); see {runner.log_file}"
        )

    async def _healthy(self, runner: LocalRunner) -> bool:
        try:
            response = await self._client.get(f"{runner.base_url}/health")
        except httpx.TransportError:
            return False
        return response.status_code == 200


def _exit_error(runner: LocalRunner) -> RunnerStartError:
    status = _read_status(runner.status_file)
    if status.get("state") == "setup_failed":
        return RunnerSetupError(
            str(status.get("error_type") or "Exception"), str(status.get("message", ""))
        )
    return RunnerStartError(
        f"Runner {runner.runner_id} exited with code {runner.process.returncode} "
        f"before it was ready; see {runner.log_file}"
    )


def _read_status(path: Path) -> dict[str, object]:
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


async def _terminate(process: asyncio.subprocess.Process, grace: float) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=grace)
        except TimeoutError:
            logger.warning("Runner pid %d ignored SIGTERM; killing it", process.pid)
    # The runner leads its own session: kill whatever it left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
