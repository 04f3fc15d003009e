"""Scaling settings: what the code asks for, what was changed at run time,
and the effective values the data plane runs with.

Settings are stored as plain JSON objects keyed by the field names of
``MachineRequirements``; a missing key means "not set".
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from fal_proto import registry_pb2

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
    """Defaults, overlaid with the code's values, overlaid with run-time ones."""
    runtime = {
        key: value for key, value in overrides.items() if key in RUNTIME_SETTINGS
    }
    return {**DEFAULTS, **code, **runtime}
