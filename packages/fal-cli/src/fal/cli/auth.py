"""``fal auth ...``: key-based login to a self-hosted platform.

``login`` checks the key against the registry, then saves it in the selected
profile (``default`` when none is selected); ``logout`` removes it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from fal.cli._console import CliError, output, print_json
from fal.cli._options import add_output_options
from fal.config import Config

DEFAULT_PROFILE = "default"


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("auth", help="log in and out with a key")
    sub = parser.add_subparsers(dest="auth_command", metavar="COMMAND", required=True)

    login = sub.add_parser("login", help="save a key after checking it")
    login.add_argument(
        "--key", help="KEY_ID:KEY_SECRET (default: $FAL_KEY, else asked for)"
    )
    login.add_argument("--host", help="registry HOST:PORT to save with the key")
    add_output_options(login, env=False)
    login.set_defaults(handler=_login)

    logout = sub.add_parser("logout", help="remove the saved key")
    add_output_options(logout, env=False)
    logout.set_defaults(handler=_logout)

    whoami = sub.add_parser("whoami", help="show who the key belongs to")
    add_output_options(whoami, env=False)
    whoami.set_defaults(handler=_whoami)


def _read_key(args: argparse.Namespace) -> str:
    if args.key:
        return str(args.key)
    if os.environ.get("FAL_KEY"):
        return os.environ["FAL_KEY"]
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return getpass.getpass("Key (KEY_ID:KEY_SECRET): ").strip()


def _login(args: argparse.Namespace) -> int:
    from fal.sdk import FalServerlessClient, FalServerlessKeyCredentials, get_grpc_host

    key = _read_key(args)
    key_id, separator, secret = key.partition(":")
    if not separator or not key_id or not secret:
        raise CliError("A key has the form KEY_ID:KEY_SECRET; nothing was saved.")
    host = args.host or get_grpc_host()
    credentials = FalServerlessKeyCredentials(key_id, secret)
    with FalServerlessClient(host, credentials).connect() as connection:
        identity = connection.whoami()

    config = Config()
    if config.profile is None:
        config = Config(profile=DEFAULT_PROFILE)
        config.set_internal("profile", DEFAULT_PROFILE)
    config.set("key", key)
    if args.host:
        config.set("host", args.host)
    config.save()
    if args.json:
        print_json(
            {"owner": identity.owner, "key_id": key_id, "profile": config.profile}
        )
    else:
        output.print(
            f"Logged in as {identity.owner} with key {key_id} "
            f"(saved in profile '{config.profile}')."
        )
    return 0


def _logout(args: argparse.Namespace) -> int:
    config = Config()
    if config.profile is None or not config.get("key"):
        raise CliError("No key is saved in the selected profile; nothing to remove.")
    config.unset("key")
    config.save()
    if args.json:
        print_json({"profile": config.profile, "logged_out": True})
    else:
        output.print(f"Removed the key of profile '{config.profile}'.")
    return 0


def _whoami(args: argparse.Namespace) -> int:
    from fal.cli._client import connect

    with connect() as connection:
        identity = connection.whoami()
    scope = identity.scope.value if identity.scope else ""
    if args.json:
        print_json({"owner": identity.owner, "key_id": identity.key_id, "scope": scope})
    else:
        output.print(f"{identity.owner} (key {identity.key_id}, scope {scope})")
    return 0
