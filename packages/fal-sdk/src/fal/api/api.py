"""Functions and hosts: where code runs, with which options.

``function`` turns a plain function into an ``IsolatedFunction`` whose
``Host`` decides where each call runs: ``LocalHost`` in this process,
``FalServerlessHost`` on the platform. ``find_missing_dependencies`` and
``FalMissingDependencyError`` report what the code uses that the runner
would not have.
"""

from fal._private.api_errors import (
    FalMissingDependencyError,
    FalSerializationError,
    FalServerlessError,
    InternalFalServerlessError,
    UserFunctionException,
)
from fal._private.app import RouteSignature
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

__all__ = [
    "FalMissingDependencyError",
    "FalSerializationError",
    "FalServerlessError",
    "FalServerlessHost",
    "Host",
    "InternalFalServerlessError",
    "IsolatedFunction",
    "LocalHost",
    "Options",
    "RouteSignature",
    "UserFunctionException",
    "cached",
    "find_missing_dependencies",
    "function",
    "merge_basic_config",
]
