"""``fal environments ...``: namespaces of apps and secrets; main always exists."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from fal.cli._client import connect
from fal.cli._console import output, print_json
from fal.cli._options import add_output_options, to_json, when


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("environments", help="manage environments")
    sub = parser.add_subparsers(
        dest="environments_command", metavar="COMMAND", required=True
    )

    listing = sub.add_parser("list", help="list environments")
    add_output_options(listing, env=False)
    listing.set_defaults(handler=_list)

    create = sub.add_parser("create", help="create an environment")
    create.add_argument("name")
    create.add_argument("--description", default="")
    add_output_options(create, env=False)
    create.set_defaults(handler=_create)

    delete = sub.add_parser("delete", help="delete an empty environment")
    delete.add_argument("name")
    add_output_options(delete, env=False)
    delete.set_defaults(handler=_delete)


def _list(args: argparse.Namespace) -> int:
    with connect() as connection:
        environments = connection.list_environments()
    if args.json:
        print_json({"environments": to_json(environments)})
        return 0
    table = Table("name", "default", "created", "description")
    for environment in environments:
        table.add_row(
            environment.name,
            "yes" if environment.is_default else "",
            when(environment.created_at),
            environment.description or "",
        )
    output.print(table)
    return 0


def _create(args: argparse.Namespace) -> int:
    with connect() as connection:
        environment = connection.create_environment(args.name, args.description)
    if args.json:
        print_json({"environment": to_json(environment)})
    else:
        output.print(f"Created environment {environment.name}.")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.delete_environment(args.name)
    if args.json:
        print_json({"name": args.name, "deleted": True})
    else:
        output.print(f"Deleted environment {args.name}.")
    return 0
