"""``fal queue size|flush``: an app's queued requests."""

from __future__ import annotations

import argparse
import os
from typing import Any

import httpx

from fal.cli._client import connect
from fal.cli._console import CliError, output, print_json
from fal.cli._options import add_output_options


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("queue", help="inspect and flush an app's queue")
    sub = parser.add_subparsers(dest="queue_command", metavar="COMMAND", required=True)
    size = sub.add_parser("size", help="requests queued or running")
    size.set_defaults(handler=_size)
    flush = sub.add_parser("flush", help="cancel every request still queued")
    flush.set_defaults(handler=_flush)
    for child in (size, flush):
        child.add_argument("app_name", help="APP or OWNER/APP")
        add_output_options(child)


def _size(args: argparse.Namespace) -> int:
    app_id = _app_id(args.app_name, args.environment)
    size = int(_call("GET", f"{app_id}/size")["size"])
    if args.json:
        print_json({"application": app_id, "size": size})
    else:
        output.print(f"{app_id}: {size} requests queued or running.")
    return 0


def _flush(args: argparse.Namespace) -> int:
    app_id = _app_id(args.app_name, args.environment)
    cancelled = int(_call("DELETE", f"{app_id}/requests")["cancelled"])
    if args.json:
        print_json({"application": app_id, "cancelled": cancelled})
    else:
        output.print(f"{app_id}: cancelled {cancelled} queued requests.")
    return 0


def _app_id(app_name: str, environment: str | None) -> str:
    """``owner/alias`` of an app name, the owner taken from the key if absent."""
    owner, _, name = app_name.rpartition("/")
    if not name:
        raise CliError(f"'{app_name}' names no application; use APP or OWNER/APP.")
    if environment and environment != "main" and "--" not in name:
        name = f"{name}--{environment}"
    if not owner:
        with connect() as connection:
            owner = connection.whoami().owner
    return f"{owner}/{name}"


def _call(method: str, path: str) -> dict[str, Any]:
    from fal.sdk import get_credentials

    url = f"{_queue_url()}/{path}"
    try:
        response = httpx.request(
            method, url, headers=get_credentials().to_headers(), timeout=30
        )
    except httpx.TransportError as error:
        raise CliError(f"Could not reach the queue at {url}: {error}") from error
    if not response.is_success:
        raise CliError(
            f"The queue refused ({response.status_code}): {_detail(response)}"
        )
    result: dict[str, Any] = response.json()
    return result


def _queue_url() -> str:
    """The queue API's base URL, found as ``fal.apps.submit`` finds it."""
    from fal.config import Config
    from fal.sdk import get_run_url

    if os.environ.get("FAL_QUEUE_RUN_URL"):
        return os.environ["FAL_QUEUE_RUN_URL"].rstrip("/")
    if os.environ.get("FAL_QUEUE_RUN_HOST"):
        return f"https://{os.environ['FAL_QUEUE_RUN_HOST']}".rstrip("/")
    configured = Config().get("queue_url")
    return configured.rstrip("/") if configured else f"{get_run_url()}/queue"


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text
