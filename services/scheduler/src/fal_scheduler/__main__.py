"""``python -m fal_scheduler``: the data plane service."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from fal_scheduler.service import Scheduler, SchedulerConfig

_DEFAULT_HOME = "~/.fal-platform"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fal-scheduler",
        description="Data plane: HTTP gateway, runners and environment builds.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7080)
    parser.add_argument("--registry-address", default="127.0.0.1:7081")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:7222")
    parser.add_argument("--home", default=_DEFAULT_HOME)
    parser.add_argument(
        "--filestore-url",
        default=None,
        help="filestore base URL handed to runners as FAL_FILESTORE_URL",
    )
    parser.add_argument(
        "--internal-token",
        default=None,
        help="shared secret of the services (default: $FAL_PLATFORM_INTERNAL_TOKEN)",
    )
    parser.add_argument(
        "--max-body-size",
        type=int,
        default=64 * 1024 * 1024,
        help="largest request body accepted, in bytes",
    )
    parser.add_argument(
        "--result-retention",
        type=float,
        default=24 * 3600.0,
        help="seconds queued requests' records and results are kept",
    )
    parser.add_argument(
        "--queue-limit",
        type=int,
        default=10000,
        help="requests one app may have queued or running; more get 429",
    )
    parser.add_argument(
        "--queue-ack-wait",
        type=float,
        default=30.0,
        help="seconds before another scheduler takes over a dead one's requests",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    token = args.internal_token or os.environ.get("FAL_PLATFORM_INTERNAL_TOKEN", "")
    if not token:
        print(
            "fal-scheduler: no internal token; pass --internal-token or set "
            "FAL_PLATFORM_INTERNAL_TOKEN.",
            file=sys.stderr,
        )
        return 2
    from fal_scheduler.gateway import GatewayConfig
    from fal_scheduler.queue import QueueSettings

    config = SchedulerConfig(
        home=Path(args.home).expanduser().resolve(),
        registry_address=args.registry_address,
        nats_url=args.nats_url,
        internal_token=token,
        host=args.host,
        port=args.port,
        gateway=GatewayConfig(max_body_bytes=args.max_body_size),
        filestore_url=args.filestore_url,
        queue=QueueSettings(
            result_retention=args.result_retention,
            queue_limit=args.queue_limit,
            ack_wait=args.queue_ack_wait,
        ),
    )
    asyncio.run(_run(config))
    return 0


async def _run(config: SchedulerConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await Scheduler(config).serve(stop)


if __name__ == "__main__":
    sys.exit(main())
