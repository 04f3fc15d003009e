"""``fal create APP_NAME``: a new app project from the template in this wheel."""

from __future__ import annotations

import argparse
import re
import string
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from fal.cli._console import CliError, console, print_json
from fal.cli._options import add_output_options

_APP_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$")
_TEMPLATE = "app"


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("create", help="create a new app project")
    parser.add_argument("app_name", metavar="APP_NAME", help="name of the new app")
    parser.add_argument(
        "--dir",
        dest="parent",
        default=".",
        help="directory to create the project in (default: here)",
    )
    add_output_options(parser, env=False)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    target = Path(args.parent) / args.app_name
    written = create_project(args.app_name, target)
    if args.json:
        print_json({"app_name": args.app_name, "path": str(target), "files": written})
    else:
        console.print(f"Created {args.app_name} in {target}:")
        for name in written:
            console.print(f"  {name}", markup=False)
        console.print(f"Next: cd {target} && fal deploy {args.app_name}", markup=False)
    return 0


def create_project(app_name: str, target: Path) -> list[str]:
    """Write the template into ``target``; return the files written."""
    _check_app_name(app_name)
    if target.exists() and any(target.iterdir()):
        raise CliError(
            f"{target} exists and is not empty; choose another APP_NAME or --dir."
        )
    values = {
        "app_name": app_name,
        "class_name": _class_name(app_name),
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in sorted(_template_files(), key=lambda item: item.name):
        name = entry.name.removesuffix(".tmpl")
        text = string.Template(entry.read_text(encoding="utf-8")).substitute(values)
        (target / name).write_text(text, encoding="utf-8")
        written.append(name)
    return written


def _template_files() -> list[Any]:
    folder = resources.files("fal.cli").joinpath("templates", _TEMPLATE)
    return [entry for entry in folder.iterdir() if entry.name.endswith(".tmpl")]


def _check_app_name(app_name: str) -> None:
    if not _APP_NAME.match(app_name) or "--" in app_name:
        raise CliError(
            f"{app_name!r} is not a valid app name: use letters, digits, '-' and "
            "'_', start with a letter or digit, at most 63 characters, no '--'."
        )


def _class_name(app_name: str) -> str:
    words = re.split(r"[-_]+", app_name)
    name = "".join(word[:1].upper() + word[1:] for word in words if word)
    return name if name[:1].isalpha() else f"App{name}"
