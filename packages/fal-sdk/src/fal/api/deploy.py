"""Turn an App class into a registration request for the registry."""

from fal._private.register import (
    build_register_request,
    machine_requirements,
    missing_dependency_warnings,
    requirement_steps,
)
from fal._private.serialization import serialize_app

__all__ = [
    "build_register_request",
    "machine_requirements",
    "missing_dependency_warnings",
    "requirement_steps",
    "serialize_app",
]
