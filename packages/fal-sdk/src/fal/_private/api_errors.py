"""Errors of deploying and running functions and apps (``fal.api.api``)."""

from __future__ import annotations

from fal.exceptions import FalServerlessException

__all__ = [
    "FalMissingDependencyError",
    "FalSerializationError",
    "FalServerlessError",
    "InternalFalServerlessError",
    "UserFunctionException",
]


class FalServerlessError(FalServerlessException):
    """Deploying or running a function on the platform failed."""


class InternalFalServerlessError(FalServerlessError):
    """The platform answered in a way the SDK did not expect."""


class FalMissingDependencyError(FalServerlessError):
    """The code uses a module the runner will not have."""


class FalSerializationError(FalServerlessError):
    """The function, its arguments or its result could not be pickled."""


class UserFunctionException(FalServerlessError):
    """The remote function raised an exception that could not travel back.

    The message holds the remote traceback.
    """
