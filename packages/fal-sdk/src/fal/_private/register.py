"""Build the registry's RegisterApplicationRequest from an App class."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fal._private.app import AUTH_MODES, App, default_app_name
from fal._private.app_files import carrying_manifest, sync_app_files
from fal._private.models import DeploymentStrategy
from fal._private.serialization import SERIALIZATION_METHOD, serialize_app
from fal_proto import registry_pb2

_PROTO_STRATEGIES = {
    DeploymentStrategy.ROLLING: registry_pb2.DEPLOYMENT_STRATEGY_ROLLING,
    DeploymentStrategy.RECREATE: registry_pb2.DEPLOYMENT_STRATEGY_RECREATE,
}

# MachineRequirements fields copied from the App class attribute of the same
# name when it is set.
_SCALING_ATTRIBUTES = (
    "num_gpus",
    "max_concurrency",
    "max_multiplexing",
    "min_concurrency",
    "concurrency_buffer",
    "concurrency_buffer_perc",
    "scaling_delay",
    "request_timeout",
    "startup_timeout",
)


def build_register_request(
    app_class: type[App],
    *,
    application_name: str | None = None,
    auth_mode: str | None = None,
    environment_name: str | None = None,
    deployment_strategy: DeploymentStrategy = DeploymentStrategy.ROLLING,
    scale: bool = True,
    private_logs: bool = False,
    ephemeral: bool = False,
    reset_scale: bool = False,
    source_code: str | None = None,
    no_cache: bool = False,
    files: list[dict[str, str]] | None = None,
) -> registry_pb2.RegisterApplicationRequest:
    """Everything the registry needs to deploy ``app_class``.

    ``application_name`` defaults to the class's ``app_name``, then to its
    name in kebab case; ``auth_mode`` to its ``app_auth`` (empty: private).
    ``no_cache`` rebuilds the environment even when it exists. ``files`` is
    a manifest of files already in the filestore, carried with the class's
    own ``app_files`` (see ``fal._private.hosted_run.files_manifest``).
    """
    auth_mode = auth_mode or app_class.app_auth or ""
    if auth_mode and auth_mode not in AUTH_MODES:
        raise ValueError(
            f"auth_mode is {auth_mode!r}; use one of {', '.join(AUTH_MODES)}."
        )
    # App files go to the filestore first; their manifest rides in the payload.
    app_files = sync_app_files(app_class)
    app_files += [entry for entry in files or [] if entry not in app_files]
    with carrying_manifest(app_class, app_files):
        payload = serialize_app(app_class)
    metadata: dict[str, object] = {"openapi": app_class.openapi()}
    if app_files:
        metadata["app_files"] = app_files
    request = registry_pb2.RegisterApplicationRequest(
        application_name=(
            application_name or app_class.app_name or default_app_name(app_class)
        ),
        auth_mode=auth_mode,
        serialized_function=payload,
        serialization_method=SERIALIZATION_METHOD,
        requirements=[
            registry_pb2.RequirementStep(
                packages=[shipped_requirement(r, app_class) for r in step]
            )
            for step in requirement_steps(app_class.requirements)
        ],
        python_version=runner_python_version(app_class),
        machine_requirements=machine_requirements(app_class),
        metadata_json=json.dumps(metadata),
        deployment_strategy=_PROTO_STRATEGIES[deployment_strategy],
        scale=scale,
        private_logs=private_logs,
        environment_name=environment_name or "",
        skip_retry_conditions=list(app_class.skip_retry_conditions or []),
        endpoints=app_class.get_endpoints(),
        source_code=source_code or "",
        ephemeral=ephemeral,
        reset_scale=reset_scale,
        no_cache=no_cache,
        container_image_json=container_image_json(app_class),
    )
    if app_class.termination_grace_period_seconds is not None:
        request.termination_grace_period_seconds = (
            app_class.termination_grace_period_seconds
        )
    _set_health_check(request, app_class)
    return request


def runner_python_version(app_class: type[App]) -> str:
    """The runner's Python minor version: the deploying one, or the pin.

    The app travels as cloudpickle, whose code objects only load in the
    minor version that wrote them; a pin to another one could never start,
    so it is an error here rather than a crash in the runner.
    """
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    pinned = app_class.host_kwargs.get("python_version")
    if pinned is None:
        return current
    parts = str(pinned).split(".")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        raise ValueError(
            f"{app_class.__name__} pins python_version={pinned!r}; give a "
            "version such as '3.11'."
        )
    minor = ".".join(parts[:2])
    if minor != current:
        raise ValueError(
            f"{app_class.__name__} pins python_version={pinned!r} but is "
            f"deployed from Python {current}; the app is sent pickled, and "
            f"pickled code only loads in the Python version that wrote it. "
            f"Deploy from a Python {minor} interpreter, or remove the pin."
        )
    return minor


def container_image_json(app_class: type[App]) -> str:
    """The app's ContainerImage as JSON, or "" for a uv virtualenv."""
    kind = app_class.kind or app_class.host_kwargs.get("kind")
    image = app_class.image
    if kind not in (None, "virtualenv", "container"):
        raise ValueError(
            f"{app_class.__name__}.kind is {kind!r}; use 'virtualenv' or 'container'."
        )
    if kind == "container" and image is None:
        raise ValueError(
            f"{app_class.__name__} has kind='container' but no image; set "
            "image = ContainerImage.from_dockerfile(...)."
        )
    if image is None:
        return ""
    to_dict = getattr(image, "to_dict", None)
    if to_dict is None and callable(image):
        raise ValueError(
            f"{app_class.__name__}.image is a method, but 'image' is a reserved "
            "App attribute: it holds the app's container image (a "
            "fal.ContainerImage). Rename the method, e.g. to 'make_image'; "
            '@fal.endpoint("/image") keeps its URL.'
        )
    if to_dict is None:
        raise ValueError(
            f"{app_class.__name__}.image is {image!r}; use a fal.ContainerImage."
        )
    document = to_dict()
    # Secret values stay on the client until a backend that builds images
    # asks for them; the platform only learns their names.
    document["secrets"] = sorted(document.get("secrets") or {})
    return json.dumps(document, sort_keys=True)


def requirement_steps(requirements: Any) -> list[list[str]]:
    """Install steps: a flat list is one step, a list of lists several."""
    if not requirements:
        return []
    if all(isinstance(item, str) for item in requirements):
        return [list(requirements)]
    if all(isinstance(item, list | tuple) for item in requirements):
        steps = [list(step) for step in requirements if step]
        if all(isinstance(package, str) for step in steps for package in step):
            return steps
    raise TypeError(
        "requirements must be a list of package specifiers or a list of such "
        f"lists (one per install step), not {requirements!r}."
    )


def shipped_requirement(requirement: str, app_class: type[App]) -> str:
    """The requirement as the platform gets it: local paths become uploads.

    A path exists only on the deploying machine, so it is uploaded to the
    filestore and replaced by a content reference (see
    ``fal._private.local_requirements``); any other requirement is unchanged.
    """
    from fal._private.local_requirements import (
        is_local_requirement,
        upload_local_requirement,
    )

    if not is_local_requirement(requirement):
        return requirement
    base = app_class.local_file_path or str(Path.cwd())
    return upload_local_requirement(requirement, base)


def machine_requirements(app_class: type[App]) -> registry_pb2.MachineRequirements:
    """The scaling and placement settings an App class declares."""
    machine_types = app_class.machine_type
    if isinstance(machine_types, str):
        machine_types = [machine_types]
    requirements = registry_pb2.MachineRequirements(
        machine_types=list(machine_types),
        valid_regions=list(app_class.regions or []),
    )
    for name in _SCALING_ATTRIBUTES:
        value = getattr(app_class, name)
        if value is not None:
            setattr(requirements, name, int(value))
    keep_alive = app_class.host_kwargs.get("keep_alive")
    if keep_alive is not None:
        requirements.keep_alive = int(keep_alive)
    return requirements


def _set_health_check(
    request: registry_pb2.RegisterApplicationRequest, app_class: type[App]
) -> None:
    config = app_class.get_health_check_config()
    if config is None:
        return
    message = request.health_check_config
    message.path = config.path
    if config.start_period_seconds is not None:
        message.start_period_seconds = config.start_period_seconds
    if config.timeout_seconds is not None:
        message.timeout_seconds = config.timeout_seconds
    if config.failure_threshold is not None:
        message.failure_threshold = config.failure_threshold
    if config.call_regularly is not None:
        message.call_regularly = config.call_regularly


def missing_dependency_warnings(app_class: type[App]) -> list[str]:
    """One sentence per installed package the app uses but does not require."""
    from fal._private.dependencies import find_missing_dependencies

    requirements = [
        r for step in requirement_steps(app_class.requirements) for r in step
    ]
    shipped = [app_class.__module__, *app_class.local_python_modules]
    return [
        f"{app_class.__name__} imports {', '.join(modules)} (from the package "
        f"{distribution!r}), which its requirements do not provide; add "
        f"{distribution!r} to requirements or the runner will fail to import it."
        for distribution, modules in find_missing_dependencies(
            [app_class], requirements, shipped
        )
    ]
