"""The platform's control plane: apps, revisions, aliases and keys over gRPC.

Start one in-process with :class:`RegistryServer`, or run
``python -m fal_registry`` (see docs/internals.md for its flags).
"""

from fal_registry.auth import KeyScope
from fal_registry.config import Settings
from fal_registry.errors import RegistryError
from fal_registry.scaling import DEFAULTS as DEFAULT_SETTINGS
from fal_registry.server import RegistryServer

__all__ = [
    "DEFAULT_SETTINGS",
    "KeyScope",
    "RegistryError",
    "RegistryServer",
    "Settings",
]
