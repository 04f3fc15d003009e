"""``fal secrets ...``: environment variables the app's runners get.

Values go to the registry and never come back: ``list`` shows names only.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from fal.cli._client import connect
from fal.cli._console import CliError, output, print_json
from fal.cli._options import add_output_options, to_json, when


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("secrets", help="manage secrets")
    sub = parser.add_subparsers(
        dest="secrets_command", metavar="COMMAND", required=True
    )

    setting = sub.add_parser("set", help="set secrets")
    setting.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    add_output_options(setting)
    setting.set_defaults(handler=_set)

    listing = sub.add_parser("list", help="list secret names")
    add_output_options(listing)
    listing.set_defaults(handler=_list)

    unset = sub.add_parser("unset", help="delete secrets")
    unset.add_argument("names", nargs="+", metavar="NAME")
    add_output_options(unset)
    unset.set_defaults(handler=_unset)


def parse_assignments(assignments: list[str]) -> list[tuple[str, str]]:
    """``NAME=VALUE`` pairs; all are checked before any is sent."""
    pairs = []
    for assignment in assignments:
        name, separator, value = assignment.partition("=")
        if not separator or not name:
            shown = name or "(empty)"
            raise CliError(
                f"Secret {shown!r} has no value: write NAME=VALUE (nothing was set)."
            )
        pairs.append((name, value))
    return pairs


def _set(args: argparse.Namespace) -> int:
    pairs = parse_assignments(args.assignments)
    with connect() as connection:
        for name, value in pairs:
            connection.set_secret(name, value, environment_name=args.environment)
    names = [name for name, _ in pairs]
    if args.json:
        print_json({"set": names})
    else:
        output.print(
            f"Set {', '.join(names)}. Running apps see them after their next "
            "deploy or 'fal apps rollout'."
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    with connect() as connection:
        secrets = connection.list_secrets(environment_name=args.environment)
    if args.json:
        print_json({"secrets": to_json(secrets)})
        return 0
    table = Table("name", "updated", "environment")
    for secret in secrets:
        table.add_row(
            secret.name, when(secret.created_at), secret.environment_name or "main"
        )
    output.print(table)
    return 0


def _unset(args: argparse.Namespace) -> int:
    with connect() as connection:
        for name in args.names:
            connection.delete_secret(name, environment_name=args.environment)
    if args.json:
        print_json({"unset": args.names})
    else:
        output.print(f"Deleted {', '.join(args.names)}.")
    return 0
