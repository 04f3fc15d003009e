"""``python -m fal_registry`` as the launcher runs it."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from fal_platform.testing import NatsServer, free_port, wait_for_port


def run_registry(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fal_registry", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_main_unreachable_database_exits_with_masked_url() -> None:
    url = f"postgresql+psycopg://admin:hunter2@127.0.0.1:{free_port()}/registry"

    process = run_registry("--port", "0", "--database-url", url)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stderr.count("\n") == 1
    assert stderr.startswith("fal-registry: Cannot reach the database at ")
    assert "postgresql+psycopg://admin:***@127.0.0.1" in stderr
    assert "hunter2" not in stderr


def test_main_serves_until_sigterm(nats_server: NatsServer, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    key_file = tmp_path / "home" / "admin_key"

    process = run_registry(
        "--port", str(port),
        "--database-url", f"sqlite:///{tmp_path / 'registry.db'}",
        "--nats-url", nats_server.url,
        "--gateway-url", "http://127.0.0.1:7080",
        "--bootstrap-owner", "local",
        "--bootstrap-key-file", str(key_file),
        "--metrics-port", str(metrics_port),
        "--log-level", "DEBUG",
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=30)
        wait_for_port(metrics_port, timeout=5)
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            metrics = response.read().decode()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)

    assert process.returncode == 0
    secret = key_file.read_text().strip().partition(":")[2]
    assert secret
    assert secret not in stderr
    assert "Registry stopped" in stderr
    assert "fal_registry_registrations_total" in metrics


def test_main_missing_secrets_key_file_exits_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_secrets_key"

    process = run_registry(
        "--port", "0",
        "--database-url", f"sqlite:///{tmp_path / 'registry.db'}",
        "--secrets-key-file", str(missing),
    )  # fmt: skip
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stderr.startswith("fal-registry: Cannot read the secrets key file ")
    assert str(missing) in stderr


def test_main_invalid_secrets_key_exits_with_message(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets_key"
    key_file.write_text("not-a-key\n")

    process = run_registry(
        "--port", "0",
        "--database-url", f"sqlite:///{tmp_path / 'registry.db'}",
        "--secrets-key-file", str(key_file),
    )  # fmt: skip
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert "The secrets key is not valid" in stderr
    assert "not-a-key" not in stderr
