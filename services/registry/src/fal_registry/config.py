"""Settings of one registry process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Settings:
    """Where the registry listens, what it talks to, and how long it waits."""

    database_url: str
    nats_url: str
    gateway_url: str
    host: str = "127.0.0.1"
    port: int = 7081  # 0 picks a free port; see RegistryServer.port
    queue_url: str | None = None
    bootstrap_owner: str | None = None
    bootstrap_key_file: Path | None = None
    internal_token: str | None = None
    metrics_port: int | None = None
    # Key that encrypts secrets at rest; without it secrets are refused.
    secrets_key_file: Path | None = None
    build_ack_timeout: float = 10.0
    build_timeout: float = 1800.0
    nats_connect_timeout: float = 10.0
