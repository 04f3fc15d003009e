"""``fal profile ...``: named sets of host and key in the fal config."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from fal.cli._console import CliError, output, print_json
from fal.cli._options import add_output_options
from fal.config import Config


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("profile", help="manage config profiles")
    sub = parser.add_subparsers(
        dest="profile_command", metavar="COMMAND", required=True
    )

    listing = sub.add_parser("list", help="list profiles")
    add_output_options(listing, env=False)
    listing.set_defaults(handler=_list)

    unset = sub.add_parser("unset", help="stop selecting a default profile")
    unset.set_defaults(handler=_unset)

    create = sub.add_parser("create", help="create a profile")
    create.add_argument("name")
    create.add_argument(
        "--host", default="127.0.0.1:7081", help="registry HOST:PORT (gRPC)"
    )
    create.add_argument("--run-url", help="gateway base URL")
    create.add_argument("--key", help="KEY_ID:KEY_SECRET")
    create.set_defaults(handler=_create)

    delete = sub.add_parser("delete", help="delete a profile")
    delete.add_argument("name")
    delete.set_defaults(handler=_delete)

    select = sub.add_parser("set", help="make a profile the default")
    select.add_argument("name")
    select.set_defaults(handler=_set)

    host = sub.add_parser("host", help="set the current profile's registry address")
    host.add_argument("host", help="HOST:PORT of the registry (gRPC)")
    host.set_defaults(handler=_host)

    key = sub.add_parser("key", help="set the current profile's key")
    key.add_argument("key", help="KEY_ID:KEY_SECRET")
    key.set_defaults(handler=_key)


def _config(profile: str | None = None) -> Config:
    return Config(profile=profile)


def _list(args: argparse.Namespace) -> int:
    config = _config()
    current = config.profile
    rows = []
    for name in config.profiles():
        profile = _config(name)
        rows.append(
            {
                "name": name,
                "current": name == current,
                "host": profile.get("host") or "",
                "run_url": profile.get("run_url") or "",
                "has_key": bool(profile.get("key")),
            }
        )
    if args.json:
        print_json({"profiles": rows})
        return 0
    table = Table("", "profile", "host", "run url", "key")
    for row in rows:
        table.add_row(
            "*" if row["current"] else "",
            str(row["name"]),
            str(row["host"]),
            str(row["run_url"]),
            "set" if row["has_key"] else "",
        )
    output.print(table)
    return 0


def _set(args: argparse.Namespace) -> int:
    config = _config()
    if args.name not in config.profiles():
        known = ", ".join(config.profiles()) or "none"
        raise CliError(f"No profile named '{args.name}' (known: {known}).")
    config.set_internal("profile", args.name)
    config.save()
    output.print(f"Default profile is now '{args.name}'.")
    return 0


def _unset(args: argparse.Namespace) -> int:
    config = _config()
    config.unset_internal("profile")
    config.save()
    output.print("No profile is selected now.")
    return 0


def _create(args: argparse.Namespace) -> int:
    config = _config()
    if args.name in config.profiles():
        raise CliError(f"Profile '{args.name}' already exists; pick another name.")
    if args.key:
        _check_key(args.key)
    profile = _config(args.name)
    profile.set("host", args.host)
    if args.run_url:
        profile.set("run_url", args.run_url)
    if args.key:
        profile.set("key", args.key)
    profile.save()
    output.print(f"Created profile '{args.name}' (select it: fal profile set NAME).")
    return 0


def _delete(args: argparse.Namespace) -> int:
    config = _config()
    if args.name not in config.profiles():
        known = ", ".join(config.profiles()) or "none"
        raise CliError(f"No profile named '{args.name}' (known: {known}).")
    config.delete_profile(args.name)
    config.save()
    output.print(f"Deleted profile '{args.name}'.")
    return 0


def _check_key(key: str) -> str:
    key_id, sep, secret = key.partition(":")
    if not sep or not key_id or not secret:
        raise CliError("A key has the form KEY_ID:KEY_SECRET.")
    return key_id


def _current() -> Config:
    config = _config()
    if config.profile is None:
        raise CliError("No profile is selected; run 'fal profile set NAME' first.")
    return config


def _host(args: argparse.Namespace) -> int:
    config = _current()
    config.set("host", args.host)
    config.save()
    output.print(f"Profile '{config.profile}' now uses registry {args.host}.")
    return 0


def _key(args: argparse.Namespace) -> int:
    key_id = _check_key(args.key)
    config = _current()
    config.set("key", args.key)
    config.save()
    output.print(f"Profile '{config.profile}' now uses key {key_id}.")
    return 0
