"""``fal files ...``: the owner's persistent /data files."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.table import Table

from fal.cli._console import CliError, console, output, print_json
from fal.cli._options import add_output_options


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("files", help="manage files in /data")
    add_output_options(parser, env=False)
    sub = parser.add_subparsers(dest="files_command", metavar="COMMAND", required=True)

    listing = sub.add_parser("ls", help="list a directory of /data")
    listing.add_argument("path", nargs="?", default="/data")
    add_output_options(listing, env=False)
    listing.set_defaults(handler=_ls)

    upload = sub.add_parser("upload", help="upload a local file or directory")
    upload.add_argument("local_path")
    upload.add_argument("remote_path")
    upload.set_defaults(handler=_upload)

    download = sub.add_parser("download", help="download a file or directory")
    download.add_argument("remote_path")
    download.add_argument("local_path")
    download.set_defaults(handler=_download)

    from_url = sub.add_parser("upload-url", help="have the platform fetch a URL")
    from_url.add_argument("url")
    from_url.add_argument("remote_path")
    from_url.set_defaults(handler=_upload_url)

    move = sub.add_parser("mv", help="move or rename a file or directory")
    move.add_argument("source")
    move.add_argument("destination")
    move.set_defaults(handler=_mv)

    remove = sub.add_parser("rm", help="delete a file (a directory with -r)")
    remove.add_argument("path")
    remove.add_argument("-r", "--recursive", action="store_true")
    remove.set_defaults(handler=_rm)


def _ls(args: argparse.Namespace) -> int:
    with _filesystem() as fs:
        entries = fs.ls(args.path, detail=True)
    if args.json:
        print_json({"entries": entries})
        return 0
    table = Table("name", "type", "size", title=args.path)
    for entry in entries:
        size = "" if entry["type"] == "directory" else str(entry["size"])
        table.add_row(entry["name"], entry["type"], size)
    output.print(table)
    return 0


def _upload(args: argparse.Namespace) -> int:
    source = Path(args.local_path)
    if not source.exists():
        raise CliError(f"{source} does not exist; name a local file or directory.")
    try:
        with _filesystem() as fs, console.status(f"Uploading {source}"):
            destination = _shown(args.remote_path)
            if source.is_dir():
                fs.put(str(source), args.remote_path, recursive=True)
            else:
                destination = fs.put_file(str(source), args.remote_path)
    except KeyboardInterrupt:
        console.print("Upload cancelled.", markup=False)
        raise
    output.print(f"Uploaded {source} to {destination}.", markup=False)
    return 0


def _download(args: argparse.Namespace) -> int:
    with _filesystem() as fs, console.status(f"Downloading {args.remote_path}"):
        if fs.isdir(args.remote_path):
            fs.get(args.remote_path, args.local_path, recursive=True)
        else:
            fs.get_file(args.remote_path, args.local_path)
    output.print(f"Downloaded {args.remote_path} to {args.local_path}.", markup=False)
    return 0


def _upload_url(args: argparse.Namespace) -> int:
    with _filesystem() as fs, console.status(f"Fetching {args.url}"):
        fs.put_file_from_url(args.url, args.remote_path)
    output.print(f"Stored {args.url} at {args.remote_path}.", markup=False)
    return 0


def _mv(args: argparse.Namespace) -> int:
    with _filesystem() as fs:
        fs.mv(args.source, args.destination)
    output.print(f"Moved {args.source} to {args.destination}.", markup=False)
    return 0


def _rm(args: argparse.Namespace) -> int:
    with _filesystem() as fs:
        try:
            fs.rm(args.path, recursive=args.recursive)
        except ValueError as error:
            if args.recursive or not fs.isdir(args.path):
                raise
            raise CliError(
                f"{_shown(args.path)} is a directory; pass -r (--recursive) to "
                "delete it with everything below it."
            ) from error
    output.print(f"Deleted {args.path}.", markup=False)
    return 0


def _shown(remote_path: str) -> str:
    """``remote_path`` as the /data path it names (``x`` is ``/data/x``)."""
    from fal.files import ROOT, _relative

    relative = _relative(remote_path)
    return f"{ROOT}/{relative}" if relative else ROOT


@contextmanager
def _filesystem() -> Iterator[Any]:
    """A FalFileSystem whose failures become one-line CliErrors."""
    from fal.files import FalFileSystem
    from fal.upload import FileStoreError

    translated: tuple[type[Exception], ...] = (
        FileStoreError,
        FileNotFoundError,
        FileExistsError,
        ValueError,
    )
    try:
        yield FalFileSystem()
    except translated as error:
        raise CliError(str(error)) from error
