"""``fal doctor``: versions, configuration and whether the platform answers."""

from __future__ import annotations

import argparse
import platform
from importlib import metadata
from typing import Any

from rich.table import Table

from fal.cli._console import output, print_json
from fal.cli._options import add_output_options

PACKAGES = ["fal-sdk", "fal-cli", "fal-toolkit", "fal-distributed", "fal-proto"]


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("doctor", help="check the local setup")
    add_output_options(parser, env=False)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    report = collect()
    if args.json:
        print_json(report)
    else:
        table = Table("check", "value", show_header=False)
        for key, value in report.items():
            table.add_row(key, str(value))
        output.print(table)
    return 0 if report["registry"].startswith("ok") else 1


def collect() -> dict[str, str]:
    from fal.config import Config
    from fal.sdk import get_grpc_host, get_run_url

    report = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            report[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            report[name] = "not installed"
    config = Config()
    report["config profile"] = config.profile or "(none)"
    report["registry address"] = get_grpc_host()
    report["run url"] = get_run_url()
    report["registry"] = _whoami()
    return report


def _whoami() -> str:
    from fal.cli._client import connect
    from fal.exceptions import FalServerlessException

    try:
        with connect() as connection:
            me = connection.whoami()
    except FalServerlessException as error:
        return f"error: {error}"
    return f"ok (owner {me.owner}, key {me.key_id})"
