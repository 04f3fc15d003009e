"""``fal runners ...``: live runners, as the scheduler sees them."""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from fal.cli._client import connect
from fal.cli._console import CliError, output, print_json
from fal.cli._options import add_output_options, to_json


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("runners", help="manage runners")
    sub = parser.add_subparsers(
        dest="runners_command", metavar="COMMAND", required=True
    )

    listing = sub.add_parser("list", help="list runners of every app")
    listing.add_argument("--since", help="only runners started since (ISO 8601)")
    add_output_options(listing, env=False)
    listing.set_defaults(handler=_list)

    stop = sub.add_parser("stop", help="drain and stop a runner")
    stop.add_argument("runner_id")
    stop.add_argument(
        "--replace-first", action="store_true", help="start a replacement first"
    )
    add_output_options(stop, env=False)
    stop.set_defaults(handler=_stop)

    kill = sub.add_parser("kill", help="stop a runner at once")
    kill.add_argument("runner_id")
    add_output_options(kill, env=False)
    kill.set_defaults(handler=_kill)

    logs = sub.add_parser("logs", help="print a runner's output")
    logs.add_argument("runner_id")
    logs.add_argument(
        "--follow", action="store_true", help="keep printing new lines until Ctrl-C"
    )
    logs.add_argument(
        "--since",
        help="only lines written since: a duration (30s, 5m, 2h, 1d) or ISO 8601",
    )
    add_output_options(logs, env=False)
    logs.set_defaults(handler=_logs)


def print_runners(runners: list[Any], as_json: bool) -> None:
    if as_json:
        print_json({"runners": to_json(runners)})
        return
    table = Table(
        "runner",
        "alias",
        "revision",
        "state",
        "machine",
        "in flight",
        "uptime",
        "replacement",
    )
    for runner in runners:
        replacement = runner.replacement.value
        table.add_row(
            runner.runner_id,
            runner.alias,
            runner.revision,
            runner.state.value,
            runner.machine_type,
            str(runner.in_flight_requests),
            f"{int(runner.uptime.total_seconds())}s",
            "" if replacement == "NO_REPLACE" else replacement,
        )
    output.print(table)


def _list(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError as error:
            raise CliError(
                f"--since {args.since!r} is not a date: use ISO 8601, e.g. "
                "2026-01-31T12:00:00+00:00."
            ) from error
    with connect() as connection:
        runners = connection.list_runners(start_time=since)
    print_runners(runners, args.json)
    return 0


def _stop(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.stop_runner(args.runner_id, replace_first=args.replace_first)
    _done(args, "stopped", f"Stopping runner {args.runner_id}.")
    return 0


def _kill(args: argparse.Namespace) -> int:
    with connect() as connection:
        connection.kill_runner(args.runner_id)
    _done(args, "killed", f"Killed runner {args.runner_id}.")
    return 0


def _done(args: argparse.Namespace, what: str, message: str) -> None:
    if args.json:
        print_json({"runner_id": args.runner_id, what: True})
    else:
        output.print(message)


FOLLOW_INTERVAL = 1.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str) -> datetime:
    """A duration back from now (``5m``) or an ISO 8601 time."""
    match = _DURATION.match(value.strip())
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        return datetime.now(UTC) - timedelta(seconds=seconds)
    try:
        since = datetime.fromisoformat(value)
    except ValueError as error:
        raise CliError(
            f"--since {value!r} is neither a duration (30s, 5m, 2h, 1d) nor an "
            "ISO 8601 time such as 2026-01-31T12:00:00+00:00."
        ) from error
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def _logs(args: argparse.Namespace) -> int:
    since = parse_since(args.since) if args.since else None
    offset = 0
    with connect() as connection:
        try:
            while True:
                lines, offset = connection.runner_logs(args.runner_id, offset, since)
                for line in lines:
                    _print_log_line(line, args.json)
                if lines:
                    continue
                if not args.follow:
                    return 0
                time.sleep(FOLLOW_INTERVAL)
        except KeyboardInterrupt:
            return 0


def _print_log_line(line: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(line), flush=True)
        return
    request = f" [{line['request_id']}]" if line.get("request_id") else ""
    stamp = f"{line['timestamp']} " if line.get("timestamp") else ""
    print(f"{stamp}{line['level']}{request} {line['message']}", flush=True)
