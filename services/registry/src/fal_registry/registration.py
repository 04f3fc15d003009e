"""Turning a RegisterApplicationRequest into a validated revision draft."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from google.protobuf import json_format

from fal_proto import registry_pb2
from fal_registry.errors import InvalidArgument
from fal_registry.names import environment_or_main, validate_auth_mode, validate_name
from fal_registry.scaling import settings_from_proto
from fal_registry.store import RevisionDraft

_PYTHON_VERSION = re.compile(r"^3\.\d{1,2}$")
DEFAULT_SERIALIZATION_METHOD = "cloudpickle"


def draft_from_request(
    request: registry_pb2.RegisterApplicationRequest, owner: str
) -> RevisionDraft:
    """Validate ``request``; the draft's env_key is filled in after the build."""
    if not request.serialized_function:
        raise InvalidArgument(
            "serialized_function is empty: send the serialized App class."
        )
    return RevisionDraft(
        owner=owner,
        environment_name=environment_or_main(request.environment_name),
        application_name=validate_name("application_name", request.application_name),
        auth_mode=validate_auth_mode(request.auth_mode),
        serialized_function=request.serialized_function,
        serialization_method=request.serialization_method
        or DEFAULT_SERIALIZATION_METHOD,
        requirements=[list(step.packages) for step in request.requirements],
        python_version=_python_version(request.python_version),
        env_key="",
        code_settings=settings_from_proto(request.machine_requirements),
        metadata=_metadata(request.metadata_json),
        endpoints=list(request.endpoints),
        health_check=_health_check(request),
        skip_retry_conditions=list(request.skip_retry_conditions),
        termination_grace_period_seconds=(
            request.termination_grace_period_seconds
            if request.HasField("termination_grace_period_seconds")
            else None
        ),
        deployment_strategy=_deployment_strategy(request.deployment_strategy),
        source_code=request.source_code or None,
        private_logs=request.private_logs,
        ephemeral=request.ephemeral,
        reset_scale=request.reset_scale,
    )


def _python_version(value: str) -> str:
    if not value:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    if not _PYTHON_VERSION.fullmatch(value):
        raise InvalidArgument(
            f"python_version {value!r} is not valid: give a minor version such "
            "as '3.11'."
        )
    return value


def _metadata(value: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        metadata = json.loads(value)
    except json.JSONDecodeError as error:
        raise InvalidArgument(f"metadata_json is not valid JSON: {error}.") from error
    if not isinstance(metadata, dict):
        raise InvalidArgument("metadata_json must be a JSON object.")
    return metadata


def _health_check(
    request: registry_pb2.RegisterApplicationRequest,
) -> dict[str, Any] | None:
    if not request.HasField("health_check_config"):
        return None
    return json_format.MessageToDict(
        request.health_check_config, preserving_proto_field_name=True
    )


def _deployment_strategy(value: int) -> str:
    if value == registry_pb2.DEPLOYMENT_STRATEGY_RECREATE:
        return "recreate"
    return "rolling"


def container_image_from_request(
    request: registry_pb2.RegisterApplicationRequest,
) -> dict[str, Any] | None:
    """The app's container image (``ContainerImage.to_dict()``), if it has one."""
    if not request.container_image_json:
        return None
    try:
        image = json.loads(request.container_image_json)
    except json.JSONDecodeError as error:
        raise InvalidArgument(
            f"container_image_json is not valid JSON: {error}."
        ) from error
    if not isinstance(image, dict) or not isinstance(image.get("dockerfile_str"), str):
        raise InvalidArgument(
            "container_image_json must be a JSON object with a 'dockerfile_str'."
        )
    return image
