"""Rules for app and environment names, and how aliases are spelled."""

from __future__ import annotations

import re

from fal_registry.errors import InvalidArgument

MAIN_ENVIRONMENT = "main"
ENVIRONMENT_SEPARATOR = "--"
AUTH_MODES = ("private", "public", "shared")

_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$")
_SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# Variables the runner runtime sets itself; a secret may not replace them.
RESERVED_SECRET_NAMES = frozenset(
    {
        "FAL_RUNNER_ID",
        "FAL_APP_OWNER",
        "FAL_APP_ALIAS",
        "FAL_APP_REVISION",
        "FAL_PARENT_PID",
        "PYTHONUNBUFFERED",
        "PATH",
    }
)
MAX_SECRET_BYTES = 64 * 1024


def validate_name(field: str, value: str) -> str:
    """Return ``value`` when it is a valid app or environment name."""
    if not _NAME_PATTERN.fullmatch(value):
        raise InvalidArgument(
            f"{field} {value!r} is not a valid name: use 1 to 63 letters, digits, "
            "'_' or '-', starting with a letter or digit."
        )
    if ENVIRONMENT_SEPARATOR in value:
        raise InvalidArgument(
            f"{field} {value!r} is not a valid name: '--' is reserved for "
            "environment aliases; use a single '-' instead."
        )
    return value


def environment_or_main(value: str) -> str:
    """Validate an environment name; an empty one means ``main``."""
    if not value:
        return MAIN_ENVIRONMENT
    return validate_name("environment_name", value)


def alias_for(application: str, environment: str) -> str:
    """The alias of ``application`` in ``environment`` (``x`` or ``x--env``)."""
    if environment == MAIN_ENVIRONMENT:
        return application
    return f"{application}{ENVIRONMENT_SEPARATOR}{environment}"


def validate_auth_mode(value: str) -> str:
    """Return the auth mode; an empty one means ``private``."""
    if not value:
        return "private"
    if value not in AUTH_MODES:
        raise InvalidArgument(
            f"auth_mode {value!r} is not supported: use one of {', '.join(AUTH_MODES)}."
        )
    return value


def validate_secret_name(value: str) -> str:
    """Secrets become environment variables: their names must be valid ones."""
    if not _SECRET_NAME_PATTERN.fullmatch(value):
        raise InvalidArgument(
            f"Secret name {value!r} is not valid: use 1 to 128 letters, digits or "
            "'_', not starting with a digit (it becomes an environment variable)."
        )
    if value.upper() in RESERVED_SECRET_NAMES:
        raise InvalidArgument(
            f"Secret name {value!r} is reserved by the runner runtime; choose "
            "another name."
        )
    return value


def validate_secret_value(name: str, value: str) -> str:
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise InvalidArgument(
            f"The value of secret {name!r} is larger than {MAX_SECRET_BYTES} bytes."
        )
    if "\x00" in value:
        raise InvalidArgument(
            f"The value of secret {name!r} holds a NUL character, which an "
            "environment variable cannot."
        )
    return value
