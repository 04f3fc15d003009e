"""The ``fal`` argument parser: one sub-command module per command group."""

from __future__ import annotations

import argparse

from fal.cli import apps, deploy, doctor, profile, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fal", description="Deploy and manage fal apps on this platform."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (deploy, run, apps, doctor, profile):
        module.add_parser(commands)
    return parser
