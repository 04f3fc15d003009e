"""Functions and hosts: where code runs, with which options.

``function`` turns a plain function into an ``IsolatedFunction`` whose
``Host`` decides where each call runs: ``LocalHost`` in this process,
``FalServerlessHost`` on the platform. ``find_missing_dependencies`` and
``FalMissingDependencyError`` report what the code uses that the runner
would not have. ``BaseServable`` is what ``App`` serves through;
``ServeWrapper``, ``FalServer`` and ``FalFastAPI`` serve a plain function.
"""

from fal._private.api_errors import (
    FalMissingDependencyError,
    FalSerializationError,
    FalServerlessError,
    InternalFalServerlessError,
    UserFunctionException,
)
from fal._private.app import RouteSignature
from fal._private.base_servable import BaseServable
from fal._private.cache import cached
from fal._private.dependencies import find_missing_dependencies
from fal._private.function import (
    FalServerlessHost,
    Host,
    IsolatedFunction,
    LocalHost,
    Options,
    function,
    merge_basic_config,
)
from fal._private.servable import FalFastAPI, FalServer, ServeWrapper, SpawnInfo
from fal._private.served_function import ServedIsolatedFunction

__all__ = [
    "BaseServable",
    "FalFastAPI",
    "FalMissingDependencyError",
    "FalSerializationError",
    "FalServer",
    "FalServerlessError",
    "FalServerlessHost",
    "Host",
    "InternalFalServerlessError",
    "IsolatedFunction",
    "LocalHost",
    "Options",
    "RouteSignature",
    "ServeWrapper",
    "ServedIsolatedFunction",
    "SpawnInfo",
    "UserFunctionException",
    "cached",
    "find_missing_dependencies",
    "function",
    "merge_basic_config",
]
