"""``fal keys ...``: API keys of the owner. A key's secret is shown once."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from fal.cli._client import connect
from fal.cli._console import console, output, print_json
from fal.cli._options import add_output_options, to_json, when


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("keys", help="manage API keys")
    sub = parser.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    create = sub.add_parser("create", help="create a key")
    create.add_argument("--scope", choices=["ADMIN", "API"], required=True)
    create.add_argument("--desc", "--alias", dest="alias", default="", help="label")
    add_output_options(create, env=False)
    create.set_defaults(handler=_create)

    listing = sub.add_parser("list", help="list keys (never their secrets)")
    add_output_options(listing, env=False)
    listing.set_defaults(handler=_list)

    revoke = sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id")
    add_output_options(revoke, env=False)
    revoke.set_defaults(handler=_revoke)


def _create(args: argparse.Namespace) -> int:
    from fal.sdk import KeyScope

    with connect() as connection:
        key_id, secret = connection.create_user_key(KeyScope(args.scope), args.alias)
    if args.json:
        print_json({"key_id": key_id, "key_secret": secret, "scope": args.scope})
        return 0
    console.print("Save the key now: its secret is not shown again.")
    output.print(f"{key_id}:{secret}", markup=False)
    return 0


def _list(args: argparse.Namespace) -> int:
    with connect() as connection:
        keys = connection.list_user_keys()
    if args.json:
        print_json({"keys": to_json(keys)})
        return 0
    table = Table("key id", "created", "scope", "description")
    for key in keys:
        table.add_row(key.key_id, when(key.created_at), key.scope.value, key.alias)
    output.print(table)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.revoke_user_key(args.key_id)
    if args.json:
        print_json({"key_id": args.key_id, "revoked": True})
    else:
        output.print(f"Revoked key {args.key_id}.")
    return 0
