"""``fal apps ...``: the owner's applications, revisions and scaling."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Column, Table

from fal.cli._client import connect
from fal.cli._console import CliError, output, print_json
from fal.cli._options import add_output_options, to_json, when

# ``fal apps scale`` options: (flag, SDK keyword, type, help).
_SCALE_OPTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("--keep-alive", "keep_alive", int, "idle seconds before a runner stops"),
    ("--max-multiplexing", "max_multiplexing", int, "requests per runner"),
    ("--max-concurrency", "max_concurrency", int, "most runners"),
    ("--min-concurrency", "min_concurrency", int, "runners always kept"),
    ("--concurrency-buffer", "concurrency_buffer", int, "extra warm runners"),
    (
        "--concurrency-buffer-perc",
        "concurrency_buffer_perc",
        int,
        "extra warm runners, percent of demand",
    ),
    ("--scaling-delay", "scaling_delay", int, "seconds before scaling up"),
    ("--request-timeout", "request_timeout", int, "seconds one request may take"),
    ("--startup-timeout", "startup_timeout", int, "seconds setup() may take"),
    ("--valid-regions", "valid_regions", str, "comma-separated regions"),
    ("--machine-types", "machine_types", str, "comma-separated machine types"),
)


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("apps", help="manage applications")
    sub = parser.add_subparsers(dest="apps_command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        child = sub.add_parser(name, help=help_text)
        add_output_options(child)
        child.set_defaults(handler=handler)
        return child

    command("list", "list applications", _list)
    command("list-rev", "list an app's revisions", _list_revisions).add_argument(
        "app_name"
    )
    set_rev = command("set-rev", "serve a revision under the app's alias", _set_rev)
    set_rev.add_argument("app_name")
    set_rev.add_argument("revision")
    scale = command("scale", "change scaling settings", _scale)
    scale.add_argument("app_name")
    for flag, _, kind, help_text in _SCALE_OPTIONS:
        scale.add_argument(flag, type=kind, help=help_text)
    rollout = command("rollout", "restart an app's runners", _rollout)
    rollout.add_argument("app_name")
    rollout.add_argument(
        "--force", action="store_true", help="stop runners at once, not drained"
    )
    command("delete", "delete an application", _delete).add_argument("app_name")
    command("delete-rev", "delete a revision", _delete_revision).add_argument(
        "revision"
    )
    command("runners", "list an app's runners", _runners).add_argument("app_name")


def _list(args: argparse.Namespace) -> int:
    with connect() as connection:
        apps = connection.list_applications(environment_name=args.environment)
    if args.json:
        print_json({"applications": to_json(apps)})
        return 0
    table = Table(
        "name", "revision", "auth", "machine", "keep alive", "min", "max",
        "multiplexing", "runners", title="Applications",
    )  # fmt: skip
    for app in apps:
        table.add_row(
            app.application_id,
            app.revision,
            app.auth_mode,
            ",".join(app.machine_types),
            f"{app.keep_alive}s",
            str(app.min_concurrency),
            str(app.max_concurrency),
            str(app.max_multiplexing),
            str(app.active_runners),
        )
    output.print(table)
    return 0


def _list_revisions(args: argparse.Namespace) -> int:
    with connect() as connection:
        revisions = connection.list_revisions(
            args.app_name, environment_name=args.environment
        )
    if args.json:
        print_json({"revisions": to_json(revisions)})
        return 0
    table = Table(
        Column("revision", no_wrap=True), "created", "aliases", "strategy",
        "endpoints",
    )  # fmt: skip
    for revision in revisions:
        table.add_row(
            revision.revision,
            when(revision.created_at),
            ", ".join(revision.aliases),
            revision.deployment_strategy,
            ", ".join(revision.endpoints),
        )
    output.print(table)
    return 0


def _set_rev(args: argparse.Namespace) -> int:
    with connect() as connection:
        alias = connection.set_alias(
            args.app_name, args.revision, environment_name=args.environment
        )
    if args.json:
        print_json({"alias": to_json(alias)})
    else:
        output.print(f"{alias.alias} now serves revision {alias.revision}.")
    return 0


def _scale(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    for _, name, kind, _ in _SCALE_OPTIONS:
        value = getattr(args, name)
        if value is None:
            continue
        if kind is str:
            value = [item.strip() for item in value.split(",") if item.strip()]
        changes[name] = value
    if not changes:
        flags = ", ".join(flag for flag, *_ in _SCALE_OPTIONS[:4])
        raise CliError(f"Nothing to change: pass at least one option ({flags}, ...).")
    with connect() as connection:
        alias = connection.update_application(
            args.app_name, environment_name=args.environment, **changes
        )
    if args.json:
        print_json({"alias": to_json(alias)})
    else:
        shown = ", ".join(f"{name}={getattr(alias, name)}" for name in changes)
        output.print(f"Updated {alias.alias}: {shown}.")
    return 0


def _rollout(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.rollout_application(
            args.app_name, force=args.force, environment_name=args.environment
        )
    if args.json:
        print_json({"app_name": args.app_name, "rolled_out": True})
    else:
        output.print(f"Rolling out {args.app_name}: its runners are being replaced.")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.delete_application(args.app_name, environment_name=args.environment)
    if args.json:
        print_json({"app_name": args.app_name, "deleted": True})
    else:
        output.print(f"Deleted {args.app_name}.")
    return 0


def _delete_revision(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.delete_revision(args.revision)
    if args.json:
        print_json({"revision": args.revision, "deleted": True})
    else:
        output.print(f"Deleted revision {args.revision}.")
    return 0


def _runners(args: argparse.Namespace) -> int:
    from fal.cli.runners import print_runners

    with connect() as connection:
        runners = connection.list_alias_runners(
            args.app_name, environment_name=args.environment
        )
    print_runners(runners, args.json)
    return 0
