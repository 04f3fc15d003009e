"""``fal-platform``: run the whole platform on this machine.

fal-platform up [--detach]    start nats-server, registry, filestore, scheduler
fal-platform down             stop everything `up` started
fal-platform status           health of each part
fal-platform demo             up in a temporary home, deploy a real model, call it
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table

from fal_platform.platform import (
    DEFAULT_HOME,
    DEFAULT_OWNER,
    DEFAULT_PORTS,
    Endpoints,
    LocalPlatform,
    PlatformError,
    Ports,
    S3Settings,
    health,
    stop_home,
)

console = Console(stderr=True)


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s %(message)s",
    )
    try:
        code = args.handler(args)
    except PlatformError as error:
        console.print(f"[red]error:[/red] {error}")
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fal-platform", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the platform")
    _add_home(up)
    up.add_argument("--detach", action="store_true", help="return once healthy")
    up.add_argument("--owner", default=DEFAULT_OWNER, help="owner of the admin key")
    for name, port in DEFAULT_PORTS.items():
        up.add_argument(
            f"--{name}-port", type=int, default=port, help="0 picks a free port"
        )
    _add_s3(up)
    up.add_argument(
        "--database-url",
        default=os.environ.get("FAL_PLATFORM_DATABASE_URL"),
        help="registry database, e.g. postgresql+psycopg://user@host/db "
        "(default: SQLite in the home)",
    )
    up.set_defaults(handler=_up)

    down = commands.add_parser("down", help="stop the platform")
    _add_home(down)
    down.set_defaults(handler=_down)

    status = commands.add_parser("status", help="show each part's health")
    _add_home(status)
    status.set_defaults(handler=_status)

    demo = commands.add_parser("demo", help="deploy and call the example model")
    demo.add_argument(
        "--app",
        type=Path,
        default=None,
        help="app file to deploy (default: examples/text_embeddings.py)",
    )
    demo.set_defaults(handler=_demo)
    return parser


def _add_s3(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "blob storage",
        "keep files in an S3 API bucket instead of HOME/files; credentials "
        "come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or ~/.aws",
    )
    group.add_argument("--s3-bucket", default=os.environ.get("FAL_S3_BUCKET"))
    group.add_argument(
        "--s3-endpoint-url", default=os.environ.get("FAL_S3_ENDPOINT_URL")
    )
    group.add_argument("--s3-region", default=os.environ.get("FAL_S3_REGION"))
    group.add_argument("--s3-prefix", default=os.environ.get("FAL_S3_PREFIX", ""))
    group.add_argument(
        "--s3-create-bucket", action="store_true", help="create it when missing"
    )


def _add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("FAL_PLATFORM_HOME", DEFAULT_HOME)),
        help="platform home directory (default: %(default)s)",
    )


def _up(args: argparse.Namespace) -> int:
    ports = Ports(
        gateway=args.gateway_port,
        registry=args.registry_port,
        filestore=args.filestore_port,
        nats=args.nats_port,
    )
    s3 = S3Settings(
        bucket=args.s3_bucket,
        endpoint_url=args.s3_endpoint_url,
        region=args.s3_region,
        prefix=args.s3_prefix,
        create_bucket=args.s3_create_bucket,
    )
    platform = LocalPlatform(
        home=args.home,
        ports=ports,
        owner=args.owner,
        s3=s3,
        database_url=args.database_url,
    )
    with console.status("Starting nats-server, registry, filestore and scheduler"):
        endpoints = platform.start()
    _print_endpoints(endpoints)
    if args.detach:
        console.print(
            "Running in the background; stop with "
            f"'fal-platform down --home {args.home}'."
        )
        return 0

    stop_requested = False

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _request_stop)
    console.print("Press Ctrl-C to stop.")
    try:
        exited = platform.wait()
        console.print(f"[red]{exited} exited; stopping the platform.[/red]")
        return_code = 1
    except KeyboardInterrupt:
        return_code = 0
    with console.status("Stopping"):
        platform.stop()
    return return_code


def _down(args: argparse.Namespace) -> int:
    stopped = stop_home(args.home.expanduser())
    if stopped:
        console.print(f"Stopped {', '.join(stopped)}.")
    else:
        console.print(f"Nothing was running from {args.home}.")
    return 0


def _status(args: argparse.Namespace) -> int:
    home = args.home.expanduser()
    endpoints = Endpoints.load(home)
    states = health(home)
    table = Table("part", "address", "healthy")
    addresses = {
        "nats": endpoints.nats_url,
        "registry": endpoints.registry_address,
        "filestore": endpoints.filestore_url,
        "scheduler": endpoints.gateway_url,
    }
    for name, ok in states.items():
        table.add_row(
            name, addresses[name], "[green]yes[/green]" if ok else "[red]no[/red]"
        )
    Console().print(table)
    return 0 if all(states.values()) else 1


def _print_endpoints(endpoints: Endpoints) -> None:
    table = Table("", "", show_header=False, box=None)
    table.add_row("gateway", endpoints.gateway_url)
    table.add_row("registry (gRPC)", endpoints.registry_address)
    table.add_row("filestore", endpoints.filestore_url)
    table.add_row("nats", endpoints.nats_url)
    table.add_row("owner", endpoints.owner)
    table.add_row("home", endpoints.home)
    console.print(table)


def _demo(args: argparse.Namespace) -> int:
    from fal_platform.demo import run_demo

    return run_demo(args.app)


def run_fal(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the ``fal`` command of this interpreter's environment."""
    return subprocess.run(
        [sys.executable, "-m", "fal.cli", *args], env=env, text=True, check=False
    )
