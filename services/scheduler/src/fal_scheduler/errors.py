"""Errors of the scheduler.

``SchedulerError`` is the root. Below it:

- ``EnvironmentBuildError``: an app's environment could not be built.
- ``RunnerStartError``: a runner did not become ready; its subclass
  ``RunnerSetupError`` carries the exception the app's ``setup()`` raised.
- ``SetupFailingError``: a revision is in its failure delay after a failed
  runner start; requests fail at once with the last error.
- ``PoolClosedError``: the revision's pool was drained (replaced or deleted).
- ``AppNotFoundError``, ``InvalidKeyError``, ``RegistryUnavailableError``:
  answers of the registry, translated from gRPC status codes.
- ``QueueError`` (HTTP 400): a queue operation refused; below it
  ``RequestNotFoundError`` (404), ``QueueFullError`` (429) and
  ``QueueUnavailableError`` (503, JetStream failed).
"""

from __future__ import annotations


class SchedulerError(Exception):
    """Root of every error the scheduler raises on purpose."""


class EnvironmentBuildError(SchedulerError):
    """An environment build failed; the message names the step."""


class RunnerStartError(SchedulerError):
    """A runner exited or timed out before it answered ``/health``."""


class RunnerSetupError(RunnerStartError):
    """The app's ``setup()`` raised inside a runner."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}" if message else error_type)
        self.error_type = error_type
        self.message = message


class SetupFailingError(SchedulerError):
    """Runners of a revision keep failing to start; wait before retrying."""

    def __init__(self, cause: RunnerStartError, retry_in: float) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.retry_in = retry_in


class PoolClosedError(SchedulerError):
    """The revision's runner pool no longer takes requests."""


class AppNotFoundError(SchedulerError):
    """The registry knows no such ``owner/alias``."""


class InvalidKeyError(SchedulerError):
    """The presented key does not exist or was revoked."""


class RegistryUnavailableError(SchedulerError):
    """The registry could not be reached or failed."""


class QueueError(SchedulerError):
    """A queue operation was refused; ``status_code`` is its HTTP answer."""

    status_code = 400


class RequestNotFoundError(QueueError):
    """No queued request has this id (never submitted or expired)."""

    status_code = 404


class QueueFullError(QueueError):
    """The app's queue is at its limit; the caller should retry later."""

    status_code = 429


class QueueUnavailableError(QueueError):
    """JetStream could not be reached or refused the request."""

    status_code = 503
