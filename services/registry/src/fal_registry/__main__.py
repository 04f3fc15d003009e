"""``python -m fal_registry``: the registry service's command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from fal_registry.config import Settings
from fal_registry.errors import RegistryError
from fal_registry.server import INTERNAL_TOKEN_ENV, RegistryServer

logger = logging.getLogger("fal_registry")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fal-registry", description="The platform's control plane (gRPC)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7081)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--nats-url", default="nats://127.0.0.1:7222")
    parser.add_argument("--gateway-url", default="http://127.0.0.1:7080")
    parser.add_argument("--queue-url", default=None)
    parser.add_argument("--bootstrap-owner", default=None)
    parser.add_argument("--bootstrap-key-file", type=Path, default=None)
    parser.add_argument(
        "--internal-token",
        default=None,
        help=f"shared secret of the services (default: ${INTERNAL_TOKEN_ENV})",
    )
    parser.add_argument("--metrics-port", type=int, default=None)
    parser.add_argument(
        "--secrets-key-file",
        type=Path,
        default=None,
        help="key that encrypts app secrets (default: $FAL_PLATFORM_SECRETS_KEY)",
    )
    parser.add_argument(
        "--build-timeout",
        type=float,
        default=1800.0,
        help="seconds to wait for an environment build",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    arguments = parser.parse_args(argv)
    if arguments.bootstrap_key_file and not arguments.bootstrap_owner:
        parser.error("--bootstrap-key-file needs --bootstrap-owner")
    return arguments


def settings_from(arguments: argparse.Namespace) -> Settings:
    return Settings(
        database_url=arguments.database_url,
        nats_url=arguments.nats_url,
        gateway_url=arguments.gateway_url,
        host=arguments.host,
        port=arguments.port,
        queue_url=arguments.queue_url,
        bootstrap_owner=arguments.bootstrap_owner,
        bootstrap_key_file=arguments.bootstrap_key_file,
        internal_token=arguments.internal_token or os.environ.get(INTERNAL_TOKEN_ENV),
        metrics_port=arguments.metrics_port,
        secrets_key_file=arguments.secrets_key_file,
        build_timeout=arguments.build_timeout,
    )


async def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop_requested.set)

    server = RegistryServer(settings)
    await server.start()
    try:
        await stop_requested.wait()
        logger.info("Stopping on signal")
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=arguments.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        asyncio.run(run(settings_from(arguments)))
    except RegistryError as error:
        print(f"fal-registry: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
