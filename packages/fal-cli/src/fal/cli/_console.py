"""Where the CLI writes: results to stdout, progress and errors to stderr."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console(stderr=True, highlight=False, soft_wrap=True)
output = Console(highlight=False, soft_wrap=True)


class CliError(Exception):
    """A user-facing failure: printed as one line, exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout (the stable ``--json`` output)."""
    output.print(json.dumps(value, indent=2, default=str), markup=False)
