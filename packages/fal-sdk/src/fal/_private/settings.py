"""Where the control plane and the gateway are, from environment and profile."""

from __future__ import annotations

import ipaddress
import os

from fal._private.config import Config

DEFAULT_GRPC_HOST = "127.0.0.1:7081"
DEFAULT_RUN_URL = "http://127.0.0.1:7080"
TRUE_VALUES = ("1", "true", "yes", "on")


def get_grpc_host(config: Config | None = None) -> str:
    """The registry's gRPC address: environment, then profile, then local."""
    for variable in ("FAL_GRPC_HOST", "FAL_HOST"):
        if os.environ.get(variable):
            return os.environ[variable]
    config = config or Config()
    return config.get("host") or DEFAULT_GRPC_HOST


def use_plaintext(host: str, config: Config | None = None) -> bool:
    """Whether to talk to ``host`` without TLS.

    Loopback hosts, test mode, ``FAL_GRPC_INSECURE`` and a profile with
    ``grpc_insecure = "true"`` all mean plain text.
    """
    if is_loopback(host):
        return True
    for variable in ("ISOLATE_TEST_MODE", "FAL_GRPC_INSECURE"):
        if os.environ.get(variable):
            return True
    config = config or Config()
    return (config.get("grpc_insecure") or "").lower() in TRUE_VALUES


def get_run_url(config: Config | None = None) -> str:
    """The gateway's base URL, without a trailing slash."""
    if os.environ.get("FAL_RUN_URL"):
        return os.environ["FAL_RUN_URL"].rstrip("/")
    if os.environ.get("FAL_RUN_HOST"):
        return f"https://{os.environ['FAL_RUN_HOST']}".rstrip("/")
    config = config or Config()
    return (config.get("run_url") or DEFAULT_RUN_URL).rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (``name[:port]``) names this machine."""
    name = _host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host
