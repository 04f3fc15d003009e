"""One-off runs and environment definitions of ``FalServerlessConnection``.

``define_environment`` checks an environment's options and returns an
``EnvironmentDefinition`` that ``run`` and ``register`` accept. ``run``
reuses the machinery of ``fal.function``: it registers an ephemeral app
wrapping the function, calls it once through the gateway, and deletes the
app, yielding ``HostedRunResult`` items as it goes (the registration's logs
while IN_PROGRESS, then SUCCESS with the result or INTERNAL_FAILURE).

App files (``files=``) are a manifest of files already in the filestore,
one ``FileMetadata`` (or its ``to_dict()``) per file; the manifest rides in
the pickled app exactly like ``App.app_files``.
"""

from __future__ import annotations

import contextlib
import enum
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from fal._private.models import Log, MachineRequirements, ServiceURLs

if TYPE_CHECKING:
    from fal._private.client import FalServerlessConnection
    from fal_proto import registry_pb2

__all__ = [
    "ENVIRONMENT_OPTIONS",
    "EnvironmentDefinition",
    "HostedRunResult",
    "HostedRunState",
    "HostedRunStatus",
    "define_environment",
    "files_manifest",
    "run_hosted",
]

ResultT = TypeVar("ResultT")

# The options each kind of environment takes.
ENVIRONMENT_OPTIONS: dict[str, frozenset[str]] = {
    "virtualenv": frozenset({"requirements", "python_version"}),
    "container": frozenset({"image", "requirements", "python_version"}),
}


@dataclass(frozen=True)
class EnvironmentDefinition:
    """A checked environment: its kind, options, and whether to rebuild it."""

    kind: str
    configuration: dict[str, Any] = field(default_factory=dict)
    force: bool = False


class HostedRunState(enum.Enum):
    IN_PROGRESS = 0
    SUCCESS = 1
    INTERNAL_FAILURE = 2


@dataclass(frozen=True)
class HostedRunStatus:
    state: HostedRunState


@dataclass
class HostedRunResult(Generic[ResultT]):
    """One item of a run's stream: logs while in progress, then the outcome."""

    run_id: str
    status: HostedRunStatus
    logs: list[Log] = field(default_factory=list)
    result: ResultT | None = None
    stream: Any = None
    service_urls: ServiceURLs | None = None


def define_environment(
    kind: str, force: bool = False, **options: Any
) -> EnvironmentDefinition:
    """Check ``options`` for an environment of ``kind``; return its definition."""
    from fal._private.register import requirement_steps

    if kind not in ENVIRONMENT_OPTIONS:
        raise ValueError(
            f"Environment kind {kind!r} is not supported; use one of "
            f"{', '.join(sorted(ENVIRONMENT_OPTIONS))}."
        )
    allowed = ENVIRONMENT_OPTIONS[kind]
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(
            f"A {kind} environment does not take {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(allowed))}."
        )
    configuration = {key: value for key, value in options.items() if value is not None}
    if "requirements" in configuration:
        configuration["requirements"] = requirement_steps(configuration["requirements"])
    version = configuration.get("python_version")
    if version is not None and not isinstance(version, str):
        raise ValueError(f"python_version is {version!r}; give a string like '3.12'.")
    if kind == "container":
        image = configuration.get("image")
        if image is None:
            raise ValueError(
                "A container environment needs image=fal.ContainerImage(...)."
            )
        if not callable(getattr(image, "to_dict", None)):
            raise ValueError(f"image is {image!r}; use a fal.ContainerImage.")
    return EnvironmentDefinition(kind, configuration, bool(force))


def single_environment(environments: Any) -> EnvironmentDefinition | None:
    """The one EnvironmentDefinition in ``environments`` (None: none given)."""
    if environments is None:
        return None
    if isinstance(environments, EnvironmentDefinition):
        return environments
    items = list(environments)
    if not items:
        return None
    if len(items) > 1 or not isinstance(items[0], EnvironmentDefinition):
        raise ValueError(
            "environments must be one EnvironmentDefinition (from "
            f"define_environment), not {environments!r}."
        )
    return items[0]


def apply_environment(
    request: registry_pb2.RegisterApplicationRequest,
    environment: EnvironmentDefinition,
) -> None:
    """Let an environment definition decide the request's environment."""
    from fal._private.local_requirements import (
        is_local_requirement,
        upload_local_requirement,
    )
    from fal_proto import registry_pb2

    def shipped(requirement: str) -> str:
        # A local path exists only here: upload it, as a deploy does.
        if not is_local_requirement(requirement):
            return requirement
        return upload_local_requirement(requirement, str(Path.cwd() / "app.py"))

    configuration = environment.configuration
    if "requirements" in configuration:
        del request.requirements[:]
        for step in configuration["requirements"]:
            request.requirements.append(
                registry_pb2.RequirementStep(packages=[shipped(r) for r in step])
            )
    if environment.kind == "container":
        document = configuration["image"].to_dict()
        document["secrets"] = sorted(document.get("secrets") or {})
        request.container_image_json = json.dumps(document, sort_keys=True)
    if environment.force:
        request.no_cache = True


def files_manifest(files: Any) -> list[dict[str, str]]:
    """App files as a manifest, each entry checked; ValueError names a bad one."""
    from fal.file_sync import sanitize_relative_path

    if not files:
        return []
    manifest = []
    for index, item in enumerate(files):
        entry = item.to_dict() if callable(getattr(item, "to_dict", None)) else item
        if not isinstance(entry, dict):
            raise ValueError(
                f"files[{index}] is {item!r}; give a FileMetadata or a dict with "
                "'hash' and 'relative_path'."
            )
        missing = [key for key in ("hash", "relative_path") if not entry.get(key)]
        if missing:
            raise ValueError(f"files[{index}] has no {' or '.join(missing)}.")
        relative = str(entry["relative_path"])
        mode = str(entry.get("mode") or 0o644)
        if not mode.isdigit():
            raise ValueError(f"files[{index}] has mode {mode!r}; give an integer.")
        manifest.append(
            {
                "hash": str(entry["hash"]),
                "relative_path": sanitize_relative_path(relative, relative),
                "mode": mode,
                "size": str(entry.get("size") or 0),
            }
        )
    return manifest


def run_hosted(
    connection: FalServerlessConnection,
    function: Callable[..., Any],
    environments: Any,
    *,
    machine_requirements: MachineRequirements | None = None,
    setup_function: Callable[[], Any] | None = None,
    files: Any = None,
    application_name: str | None = None,
    auth_mode: str | None = None,
    environment_name: str | None = None,
    timeout: float = 600.0,
) -> Iterator[HostedRunResult[Any]]:
    """Run ``function`` once on the platform; see ``FalServerlessConnection.run``."""
    from fal._private.function import Options, _function_app, _slug
    from fal._private.register import build_register_request

    if not callable(function):
        raise TypeError(f"function is {function!r}; give a callable.")
    environment = single_environment(environments)
    manifest = files_manifest(files)
    options = Options()
    if environment is not None:
        options.environment = {"kind": environment.kind, **environment.configuration}
        options.environment.pop("image", None)
    target = (
        function if setup_function is None else _with_setup(function, setup_function)
    )
    app_class = _function_app(target, options)
    name = application_name or f"run-{_slug(function.__name__)}-{uuid.uuid4().hex[:8]}"
    request = build_register_request(
        app_class,
        application_name=name,
        auth_mode=auth_mode,
        environment_name=environment_name,
        ephemeral=True,
        files=manifest,
    )
    if environment is not None:
        apply_environment(request, environment)
    if machine_requirements is not None:
        from fal._private.client import _machine_requirements

        request.machine_requirements.CopyFrom(
            _machine_requirements(machine_requirements)
        )
    run_id = name
    urls: ServiceURLs | None = None
    registered = False
    try:
        for item in connection.register(request):
            if item.result is not None:
                registered = True
                run_id = item.result.application_id
                urls = item.service_urls
            if item.logs:
                yield HostedRunResult(
                    run_id, HostedRunStatus(HostedRunState.IN_PROGRESS), list(item.logs)
                )
        if not registered or urls is None or not urls.run:
            yield _failure(run_id, "The registry ended the run's deploy without a URL.")
            return
        yield _call_once(connection, target, run_id, urls, timeout)
    finally:
        if registered:
            # Cleanup must not hide the outcome.
            with contextlib.suppress(Exception):
                connection.delete_application(name, environment_name=environment_name)


def _call_once(
    connection: FalServerlessConnection,
    function: Callable[..., Any],
    run_id: str,
    urls: ServiceURLs,
    timeout: float,
) -> HostedRunResult[Any]:
    import httpx

    from fal._private.function import _dumps_for, _result_of

    payload = _dumps_for(function, ((), {}))
    try:
        response = httpx.post(
            urls.run,
            json={"payload": payload},
            headers=connection.credentials.to_headers(),
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        return _failure(run_id, f"Calling the run at {urls.run} failed: {error}")
    if response.status_code != 200:
        return _failure(
            run_id, f"The run answered {response.status_code}: {response.text[:2000]}"
        )
    answer = response.json()
    if not answer.get("ok"):
        message = str(answer.get("traceback") or "The function raised an exception.")
        return _failure(run_id, message)
    return HostedRunResult(
        run_id,
        HostedRunStatus(HostedRunState.SUCCESS),
        result=_result_of(answer),
        service_urls=urls,
    )


def _failure(run_id: str, message: str) -> HostedRunResult[Any]:
    return HostedRunResult(
        run_id,
        HostedRunStatus(HostedRunState.INTERNAL_FAILURE),
        logs=[Log(message, "ERROR", "run")],
    )


def _with_setup(
    function: Callable[..., Any], setup_function: Callable[[], Any]
) -> Callable[[], Any]:
    """On the runner: ``function(setup_function())``."""

    def run_with_setup() -> Any:
        return function(setup_function())

    run_with_setup.__name__ = getattr(function, "__name__", "function")
    run_with_setup.__module__ = getattr(function, "__module__", __name__)
    return run_with_setup
