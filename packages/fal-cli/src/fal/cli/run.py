"""``fal run FILE[::Class]``: an app that lives as long as this command."""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import signal
import threading
from types import FrameType
from typing import Any

from fal.cli._client import connect, load_app
from fal.cli._console import console, output
from fal.cli.deploy import register


def _run_local(loaded: Any, host: str, port: int) -> int:
    """Serve the app with this interpreter until Ctrl-C."""
    base = f"http://{host}:{port}"
    console.print(f"Serving {loaded.app_name} locally at {base} until Ctrl-C.")
    for path in loaded.endpoints:
        output.print(f"  POST {base}{path}", markup=False)
    loaded.function.run_local(host=host, port=port)
    return 0


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("run", help="run an app until Ctrl-C, then delete it")
    parser.add_argument("app_ref", metavar="FILE[::CLASS]", help="app file and class")
    parser.add_argument("--auth", choices=["private", "public", "shared"])
    parser.add_argument(
        "--local",
        action="store_true",
        help="serve the app in this process (no platform, no build), to debug it",
    )
    parser.add_argument("--host", default="127.0.0.1", help="with --local: address")
    parser.add_argument("--port", type=int, default=8080, help="with --local: port")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    loaded = load_app(args.app_ref, app_auth=args.auth)
    if args.local:
        return _run_local(loaded, args.host, args.port)
    name = f"{loaded.app_name or 'app'}-run-{secrets.token_hex(3)}"
    result = register(dataclasses.replace(loaded, app_name=name), ephemeral=True)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        run_url = result["urls"]["run"]
        console.print(f"Running {result['owner']}/{result['app_name']} until Ctrl-C.")
        for path in result["endpoints"]:
            output.print(f"  POST {run_url}{'' if path == '/' else path}", markup=False)
        stop.wait()
    finally:
        with console.status(f"Deleting {result['app_name']}"), connect() as connection:
            connection.delete_application(result["app_name"])
        console.print(f"Deleted {result['app_name']}.")
    return 0
