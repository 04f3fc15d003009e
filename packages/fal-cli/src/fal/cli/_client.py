"""What the CLI needs from the SDK: loading an app file and a connection."""

from __future__ import annotations

from typing import Any, Literal, cast

from fal.cli._console import CliError

AuthMode = Literal["public", "private", "shared"]


def parse_app_ref(app_ref: str) -> tuple[str, str | None]:
    """Split ``FILE.py::Class`` into the file and the class name (or None)."""
    file_path, _, class_name = app_ref.partition("::")
    if not file_path:
        raise CliError(f"'{app_ref}' names no file; use FILE.py or FILE.py::ClassName.")
    return file_path, class_name or None


def load_app(
    app_ref: str, *, app_name: str | None = None, app_auth: str | None = None
) -> Any:
    """Load the App named by ``app_ref``; a bad file becomes a one-line CliError."""
    from fal.exceptions import AppLoadError
    from fal.utils import load_function_from

    file_path, class_name = parse_app_ref(app_ref)
    try:
        return load_function_from(
            None,
            file_path,
            class_name,
            app_name=app_name,
            app_auth=cast(AuthMode | None, app_auth),
        )
    except AppLoadError as error:
        raise CliError(str(error)) from error


def connect() -> Any:
    """Open a connection to the registry named by the environment or profile."""
    from fal.sdk import FalServerlessClient, get_credentials, get_grpc_host

    return FalServerlessClient(get_grpc_host(), get_credentials()).connect()
