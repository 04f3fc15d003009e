"""Entry point of the ``fal`` command."""

from __future__ import annotations

import sys

from fal.cli._console import CliError, console
from fal.exceptions import FalServerlessException


def main(argv: list[str] | None = None) -> None:
    from fal.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except CliError as error:
        if args.debug:
            console.print_exception()
        console.print(f"[red]Error:[/red] {error.message}")
        sys.exit(error.exit_code)
    except FalServerlessException as error:
        if args.debug:
            console.print_exception()
        console.print(f"[red]Error:[/red] {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code or 0)
