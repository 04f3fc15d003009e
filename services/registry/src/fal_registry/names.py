"""Rules for app and environment names, and how aliases are spelled."""

from __future__ import annotations

import re

from fal_registry.errors import InvalidArgument

MAIN_ENVIRONMENT = "main"
ENVIRONMENT_SEPARATOR = "--"
AUTH_MODES = ("private", "public", "shared")

_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$")


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
