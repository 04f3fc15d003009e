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


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("run", help="run an app until Ctrl-C, then delete it")
    parser.add_argument("app_ref", metavar="FILE[::CLASS]", help="app file and class")
    parser.add_argument("--auth", choices=["private", "public", "shared"])
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    loaded = load_app(args.app_ref, app_auth=args.auth)
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
