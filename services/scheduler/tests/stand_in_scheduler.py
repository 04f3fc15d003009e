"""A scheduler process whose runners are the stand-in runtime.

Tests that must kill a scheduler (SIGKILL) run it as this child process:
``python stand_in_scheduler.py --home H --registry ADDR --nats URL --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scheduler_helpers import (
    INTERNAL_TOKEN,
    ThisInterpreter,
    stand_in_backend,
)

from fal_scheduler.environments import EnvironmentBuilder
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import PoolDefaults
from fal_scheduler.queue import QueueSettings
from fal_scheduler.service import Scheduler, SchedulerConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--nats", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ledger", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    home = Path(args.home)
    backend = stand_in_backend(home)
    backend.extra_env["STAND_IN_LEDGER"] = args.ledger
    config = SchedulerConfig(
        home=home,
        registry_address=args.registry,
        nats_url=args.nats,
        internal_token=INTERNAL_TOKEN,
        port=args.port,
        pool_defaults=PoolDefaults(termination_grace=2.0),
        reap_interval=0.1,
        queue=QueueSettings(ack_wait=2.0),
    )

    async def serve() -> None:
        # gRPC channels bind to the running loop: build the service inside it.
        scheduler = Scheduler(
            config,
            backend=backend,
            builder=EnvironmentBuilder(home, IndexSettings(), fal_sources=[]),
            environments=ThisInterpreter(),
        )
        await scheduler.serve(asyncio.Event())

    asyncio.run(serve())


if __name__ == "__main__":
    main()
