"""Errors of the registry, each owning the gRPC status it maps to.

RegistryError
├── InvalidArgument      a field of the request breaks a rule
├── Unauthenticated      no key, a malformed key or a wrong key
├── PermissionDenied     the key's scope or owner does not allow the call
├── NotFound             the named app, alias, key or secret does not exist
├── AlreadyExists        the named environment already exists
├── FailedPrecondition   the call conflicts with the current state
│   └── SecretsUnavailable  no secrets key, or the key cannot open a secret
├── BuildFailed          the scheduler could not build the environment
├── BuildTimedOut        the build took longer than the registry waits
└── Unavailable          NATS, the scheduler or the database is unreachable

Servicer methods raise these; the servicer turns them into gRPC statuses in
one place, so business code never touches ``grpc``.
"""

from __future__ import annotations

import grpc


class RegistryError(Exception):
    """Root of every error the registry reports to a caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidArgument(RegistryError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(RegistryError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(RegistryError):
    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(RegistryError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(RegistryError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(RegistryError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class SecretsUnavailable(FailedPrecondition):
    """Secrets cannot be stored or read: no key, or the wrong key."""


class BuildFailed(RegistryError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class BuildTimedOut(RegistryError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unavailable(RegistryError):
    code = grpc.StatusCode.UNAVAILABLE


class DatabaseUnavailable(Unavailable):
    """The database could not be reached or migrated at start."""
