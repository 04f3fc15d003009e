"""``fal deploy FILE[::Class]`` or ``fal deploy NAME``: register an app.

``NAME`` is an app declared under ``[tool.fal.apps.NAME]`` in the project's
pyproject.toml; its ``ref``, ``auth``, ``strategy``... apply unless a flag
says otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fal.cli._client import connect, load_app
from fal.cli._console import CliError, console, print_json
from fal.cli._options import add_output_options


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("deploy", help="deploy an app")
    parser.add_argument(
        "app_ref",
        metavar="FILE[::CLASS]|NAME",
        help="app file and class, or an app of [tool.fal.apps] in pyproject.toml",
    )
    parser.add_argument("--app-name", help="name to deploy under (default: the app's)")
    parser.add_argument(
        "--auth", choices=["private", "public", "shared"], help="who may call it"
    )
    parser.add_argument("--strategy", choices=["rolling", "recreate"])
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="rebuild the app's environment even if one is cached",
    )
    parser.add_argument(
        "--reset-scale",
        action="store_true",
        help="reset scaling settings changed at runtime to the code's values",
    )
    add_output_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    settings = resolve_app_ref(args.app_ref)
    loaded = load_app(
        settings["ref"],
        app_name=args.app_name or settings.get("name"),
        app_auth=args.auth or settings.get("auth"),
    )
    result = register(
        loaded,
        strategy=args.strategy or settings.get("strategy") or "rolling",
        reset_scale=args.reset_scale or bool(settings.get("reset_scale")),
        environment=args.environment or settings.get("env"),
        no_cache=args.no_cache,
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
    no_cache: bool = False,
) -> dict[str, Any]:
    """Register ``loaded`` (a LoadedFunction), showing build logs as they arrive."""
    request = _build_request(
        loaded, strategy, reset_scale, environment, ephemeral, no_cache
    )
    with connect() as connection:
        final = None
        with console.status(f"Deploying {loaded.app_name}") as status:
            for partial in connection.register(request):
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


def resolve_app_ref(app_ref: str) -> dict[str, Any]:
    """``{"ref": FILE[::CLASS], ...}``: the argument, or a pyproject app's table.

    An argument that is not a file and has no ``::`` names an app of the
    project's pyproject.toml.
    """
    file_part = app_ref.partition("::")[0]
    if "::" in app_ref or file_part.endswith(".py") or Path(file_part).exists():
        return {"ref": app_ref}
    from fal.project import AppNotInProjectError, find_pyproject_toml, project_app

    pyproject = find_pyproject_toml([str(Path.cwd())])
    if pyproject is None:
        raise CliError(
            f"{app_ref!r} is not a file, and there is no pyproject.toml here or "
            "above to declare it under [tool.fal.apps]."
        )
    try:
        return project_app(app_ref, pyproject)
    except (AppNotInProjectError, ValueError) as error:
        raise CliError(str(error)) from error


def _build_request(
    loaded: Any,
    strategy: str,
    reset_scale: bool,
    environment: str | None,
    ephemeral: bool,
    no_cache: bool,
) -> Any:
    """The registration request; code problems become CliErrors, warnings print."""
    from rich.text import Text

    from fal.api import build_register_request
    from fal.api.deploy import missing_dependency_warnings
    from fal.sdk import DeploymentStrategy

    for warning in missing_dependency_warnings(loaded.function):
        console.print(Text.assemble(("Warning: ", "yellow"), warning))
    try:
        return build_register_request(
            loaded.function,
            application_name=loaded.app_name,
            auth_mode=loaded.app_auth,
            environment_name=environment,
            deployment_strategy=DeploymentStrategy(strategy),
            reset_scale=reset_scale,
            ephemeral=ephemeral,
            source_code=loaded.source_code,
            no_cache=no_cache,
        )
    except (ValueError, TypeError) as error:
        raise CliError(str(error)) from error


def _print_urls(result: dict[str, Any]) -> None:
    console.print(
        f"Deployed [bold]{result['owner']}/{result['app_name']}[/bold] "
        f"(revision {result['revision']})."
    )
    run_url = result["urls"]["run"]
    console.print("Sync URLs:")
    from fal.cli._console import output

    for path in result["endpoints"]:
        suffix = "" if path == "/" else path
        output.print(f"  POST {run_url}{suffix}", markup=False)
