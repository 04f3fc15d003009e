"""Errors raised by the fal SDK.

Every error derives from one root::

    FalServerlessException
    ├── AppLoadError            an app file could not be loaded
    ├── ConfigError             the client configuration is unusable
    │   └── ProfileNotFoundError
    ├── CredentialsError        a malformed key
    │   └── MissingCredentialsError
    ├── AppClientError          an app answered an HTTP call with an error
    │   └── AppStreamError      a stream that had started ended with an error
    └── RemoteError             the control plane refused a call (gRPC)
        ├── NotFoundError
        ├── UnauthenticatedError
        ├── PermissionDeniedError
        ├── InvalidArgumentError
        ├── AlreadyExistsError
        └── UnavailableError
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AlreadyExistsError",
    "AppClientError",
    "AppLoadError",
    "AppStreamError",
    "ConfigError",
    "CredentialsError",
    "FalServerlessException",
    "InvalidArgumentError",
    "MissingCredentialsError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProfileNotFoundError",
    "RemoteError",
    "UnauthenticatedError",
    "UnavailableError",
]


class FalServerlessException(Exception):
    """The root of every error the fal SDK raises."""


class AppLoadError(FalServerlessException):
    """An app file is missing, does not parse, or holds no usable App."""


class ConfigError(FalServerlessException):
    """The client configuration file or its selected profile is unusable."""


class ProfileNotFoundError(ConfigError):
    """The requested profile does not exist in the configuration file."""


class CredentialsError(FalServerlessException):
    """No API key was found, or the key found is malformed."""


class MissingCredentialsError(CredentialsError):
    """No API key is configured anywhere the SDK looks."""


class RemoteError(FalServerlessException):
    """The control plane answered a call with an error status.

    ``code`` is the gRPC status name (``"NOT_FOUND"``) and ``message`` the
    server's own explanation.
    """

    def __init__(self, message: str, code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotFoundError(RemoteError):
    """The application, alias or key asked for does not exist."""


class UnauthenticatedError(RemoteError):
    """No key, or a key the server does not accept, was presented."""


class PermissionDeniedError(RemoteError):
    """The key is valid but may not do this (scope or owner)."""


class InvalidArgumentError(RemoteError):
    """The server rejected a field of the request."""


class AlreadyExistsError(RemoteError):
    """The object to create exists already."""


class UnavailableError(RemoteError):
    """The server, or something it depends on, cannot be reached."""


@dataclass
class AppClientError(FalServerlessException):
    """An app answered an HTTP call with an error status.

    ``message`` is the server's ``detail``; ``headers`` are the response's.
    """

    message: str
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status_code})"


@dataclass
class AppStreamError(AppClientError):
    """A stream that began with HTTP 200 ended with an ``error`` event.

    ``status_code`` stays the response's 200; ``error_type`` is the name of
    the exception the app raised, when the app sent one.
    """

    error_type: str | None = None

    def __str__(self) -> str:
        kind = self.error_type or "error"
        return f"{self.message} ({kind} in the stream, after HTTP {self.status_code})"
