"""Scaling settings: what the code asks for, what was changed at run time,
and the effective values the data plane runs with.

Settings are stored as plain JSON objects keyed by the field names of
``MachineRequirements``; a missing key means "not set".
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from fal_proto import registry_pb2
from fal_registry.errors import InvalidArgument

DEFAULTS: dict[str, Any] = {
    "keep_alive": 60,
    "max_multiplexing": 1,
    "min_concurrency": 0,
    "max_concurrency": 10,
    "concurrency_buffer": 0,
    "concurrency_buffer_perc": 0,
    "scaling_delay": 0,
    "request_timeout": 3600,
    "startup_timeout": 600,
    "machine_types": ["S"],
}

# Settings a user may change at run time (``fal apps scale``); they survive
# redeploys unless the deploy asks for ``reset_scale``. Everything else
# (machine types, GPUs, max_multiplexing, startup_timeout) is owned by the
# code and comes from the latest revision.
RUNTIME_SETTINGS = frozenset(
    {
        "keep_alive",
        "min_concurrency",
        "max_concurrency",
        "concurrency_buffer",
        "concurrency_buffer_perc",
        "scaling_delay",
        "request_timeout",
        "valid_regions",
    }
)


def settings_from_proto(requirements: registry_pb2.MachineRequirements) -> dict:
    """The fields the caller set, as a JSON-ready dict."""
    return json_format.MessageToDict(requirements, preserving_proto_field_name=True)


def settings_to_proto(settings: dict) -> registry_pb2.MachineRequirements:
    return json_format.ParseDict(
        settings, registry_pb2.MachineRequirements(), ignore_unknown_fields=True
    )


def effective_settings(code: dict, overrides: dict) -> dict:
    """Defaults, overlaid with the code's values, overlaid with run-time ones.

    Overrides of code-owned settings only exist between an update and the
    next deploy, which drops them (see ``Store.register``).
    """
    return {**DEFAULTS, **code, **overrides}


# Bounds of settings a caller may change; (minimum, maximum or None).
_BOUNDS: dict[str, tuple[int, int | None]] = {
    "keep_alive": (0, None),
    "max_multiplexing": (1, None),
    "max_concurrency": (0, None),
    "min_concurrency": (0, None),
    "concurrency_buffer": (0, None),
    "concurrency_buffer_perc": (0, 100),
    "scaling_delay": (0, None),
    "request_timeout": (1, None),
    "startup_timeout": (1, None),
}


def validate_changes(changes: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse out-of-range values and a minimum above the maximum."""
    for name, (low, high) in _BOUNDS.items():
        value = changes.get(name)
        if value is None:
            continue
        if value < low or (high is not None and value > high):
            limit = f"at least {low}" if high is None else f"{low} to {high}"
            raise InvalidArgument(f"{name} {value} is out of range: use {limit}.")
    for name in ("machine_types", "valid_regions"):
        if any(not item.strip() for item in changes.get(name, [])):
            raise InvalidArgument(f"{name} holds an empty name.")
    merged = {**current, **changes}
    if merged["min_concurrency"] > merged["max_concurrency"]:
        raise InvalidArgument(
            f"min_concurrency {merged['min_concurrency']} is above max_concurrency "
            f"{merged['max_concurrency']}: raise the maximum or lower the minimum."
        )
