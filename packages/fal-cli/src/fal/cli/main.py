"""Entry point of the ``fal`` command."""

from __future__ import annotations

import sys

from rich.text import Text

from fal.cli._console import CliError, console
from fal.exceptions import FalServerlessException, UnavailableError

UNAVAILABLE_HINT = (
    "Is the platform running? Start one with 'fal-platform up', or point this "
    "profile elsewhere with 'fal profile host HOST:PORT'."
)


def main(argv: list[str] | None = None) -> None:
    from fal.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except CliError as error:
        _report(error.message, debug=args.debug)
        sys.exit(error.exit_code)
    except FalServerlessException as error:
        _report(str(error), debug=args.debug)
        if isinstance(error, UnavailableError):
            console.print(UNAVAILABLE_HINT, markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # a bug of ours: one line, the traceback on --debug
        _report(
            f"unexpected {type(error).__name__}: {error} (run with --debug for the "
            "traceback)",
            debug=args.debug,
        )
        sys.exit(1)
    sys.exit(code or 0)


def _report(message: str, *, debug: bool) -> None:
    if debug:
        console.print_exception()
    console.print(Text.assemble(("Error: ", "red"), message))
