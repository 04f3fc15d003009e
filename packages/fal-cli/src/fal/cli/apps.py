"""``fal apps ...``: the owner's applications."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from rich.table import Table

from fal.cli._client import connect
from fal.cli._console import output, print_json


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("apps", help="manage applications")
    sub = parser.add_subparsers(dest="apps_command", metavar="COMMAND", required=True)

    listing = sub.add_parser("list", help="list applications")
    listing.add_argument("--env", dest="environment", help="environment (default main)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    delete = sub.add_parser("delete", help="delete an application")
    delete.add_argument("app_name")
    delete.add_argument("--env", dest="environment", help="environment (default main)")
    delete.set_defaults(handler=_delete)


def _list(args: argparse.Namespace) -> int:
    with connect() as connection:
        apps = connection.list_applications(environment_name=args.environment)
    if args.json:
        print_json({"applications": [asdict(app) for app in apps]})
        return 0
    table = Table(
        "name", "revision", "auth", "machine", "keep alive", "min", "max",
        "multiplexing", "runners", title="Applications",
    )  # fmt: skip
    for app in apps:
        table.add_row(
            app.application_id,
            getattr(app, "revision", ""),
            getattr(app, "auth_mode", ""),
            ",".join(app.machine_types),
            f"{app.keep_alive}s",
            str(app.min_concurrency),
            str(app.max_concurrency),
            str(app.max_multiplexing),
            str(app.active_runners),
        )
    output.print(table)
    return 0


def _delete(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.delete_application(args.app_name, environment_name=args.environment)
    output.print(f"Deleted {args.app_name}.")
    return 0
