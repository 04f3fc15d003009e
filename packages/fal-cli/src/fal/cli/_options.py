"""Options every command takes: ``--env`` and ``--json``.

Both may come before the command (``fal --json apps list``) or after it
(``fal apps list --json``). Sub-command parsers add them with SUPPRESS as
default, so that they never overwrite what the main parser read; the main
parser supplies the defaults (``--env`` from ``FAL_ENV``).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        dest="environment",
        default=os.environ.get("FAL_ENV") or None,
        help="environment (default: $FAL_ENV, else main)",
    )
    parser.add_argument("--json", action="store_true", default=False, help="print JSON")


def add_output_options(parser: argparse.ArgumentParser, env: bool = True) -> None:
    if env:
        parser.add_argument(
            "--env",
            dest="environment",
            default=argparse.SUPPRESS,
            help="environment (default: $FAL_ENV, else main)",
        )
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON"
    )


def to_json(value: Any) -> Any:
    """SDK data classes as JSON-ready values: enums by value, times ISO 8601."""
    if is_dataclass(value) and not isinstance(value, type):
        return {key: to_json(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""
