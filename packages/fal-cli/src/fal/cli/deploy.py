"""``fal deploy FILE[::Class]``: register an app and print its URLs."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from fal.cli._client import connect, load_app
from fal.cli._console import CliError, console, print_json


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("deploy", help="deploy an app")
    parser.add_argument("app_ref", metavar="FILE[::CLASS]", help="app file and class")
    parser.add_argument("--app-name", help="name to deploy under (default: the app's)")
    parser.add_argument(
        "--auth", choices=["private", "public", "shared"], help="who may call it"
    )
    parser.add_argument(
        "--strategy", choices=["rolling", "recreate"], default="rolling"
    )
    parser.add_argument(
        "--reset-scale",
        action="store_true",
        help="reset scaling settings changed at runtime to the code's values",
    )
    parser.add_argument("--env", dest="environment", help="environment (default main)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    loaded = load_app(args.app_ref, app_name=args.app_name, app_auth=args.auth)
    result = register(
        loaded,
        strategy=args.strategy,
        reset_scale=args.reset_scale,
        environment=args.environment,
    )
    if args.json:
        print_json(result)
    else:
        _print_urls(result)
    return 0


def register(
    loaded: Any,
    *,
    strategy: str = "rolling",
    reset_scale: bool = False,
    environment: str | None = None,
    ephemeral: bool = False,
) -> dict[str, Any]:
    """Register ``loaded`` (a LoadedFunction), showing build logs as they arrive."""
    with connect() as connection:
        final = None
        with console.status(f"Deploying {loaded.app_name}") as status:
            for partial in _register_stream(
                connection, loaded, strategy, reset_scale, environment, ephemeral
            ):
                for log in partial.logs:
                    console.print(log.message, style="dim", markup=False)
                    status.update(f"Deploying {loaded.app_name}: {log.message[:60]}")
                if partial.result is not None:
                    final = partial
    if final is None or final.result is None:
        raise CliError(
            f"The registry ended the deploy of {loaded.app_name} without a result."
        )
    urls = final.service_urls
    return {
        "app_name": final.result.alias,
        "owner": final.result.owner,
        "revision": final.result.application_id,
        "environment": final.result.environment_name or "main",
        "endpoints": list(loaded.endpoints),
        "urls": {
            "run": urls.run if urls else "",
            "queue": urls.queue if urls else "",
            "ws": urls.ws if urls else "",
            "playground": urls.playground if urls else "",
            "log": urls.log if urls else "",
        },
    }


def _register_stream(
    connection: Any,
    loaded: Any,
    strategy: str,
    reset_scale: bool,
    environment: str | None,
    ephemeral: bool,
) -> Iterator[Any]:
    from fal.api import build_register_request
    from fal.sdk import DeploymentStrategy

    request = build_register_request(
        loaded.function,
        application_name=loaded.app_name,
        auth_mode=loaded.app_auth,
        environment_name=environment,
        deployment_strategy=DeploymentStrategy(strategy),
        reset_scale=reset_scale,
        ephemeral=ephemeral,
        source_code=loaded.source_code,
    )
    yield from connection.register(request)


def _print_urls(result: dict[str, Any]) -> None:
    console.print(
        f"Registered [bold]{result['owner']}/{result['app_name']}[/bold] "
        f"revision {result['revision']}."
    )
    run_url = result["urls"]["run"]
    console.print("Sync URLs:")
    from fal.cli._console import output

    for path in result["endpoints"]:
        suffix = "" if path == "/" else path
        output.print(f"  POST {run_url}{suffix}", markup=False)
