"""The ``fal`` argument parser: one sub-command module per command group."""

from __future__ import annotations

import argparse

from fal.cli import (
    apps,
    auth,
    create,
    deploy,
    doctor,
    environments,
    files,
    keys,
    profile,
    queue,
    run,
    runners,
    secrets,
)
from fal.cli._options import add_global_options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fal", description="Deploy and manage fal apps on this platform."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        deploy, run, apps, runners, secrets, keys, environments, auth, doctor,
        profile, files, create, queue,
    ):  # fmt: skip
        module.add_parser(commands)
    return parser
