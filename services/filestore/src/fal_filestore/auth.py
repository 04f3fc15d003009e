"""Who is calling: the hook that maps a request to the owner it acts for.

``KeyAuthenticator`` is the default. It accepts any well-formed
``Authorization: Key <id>:<secret>`` and takes the owner from the
``X-Fal-Owner`` header (``default_owner`` when absent). It does not check
the key against the registry: on one machine every caller is the operator.
A deployment with several owners plugs in an ``Authenticator`` that looks
the key up and returns the key's owner, ignoring ``X-Fal-Owner``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Protocol

OWNER_HEADER = "x-fal-owner"
INTERNAL_TOKEN_HEADER = "x-fal-internal-token"
KEY_PATTERN = re.compile(r"^Key [^:\s]+:\S+$")


class AuthenticationError(Exception):
    """A request without acceptable credentials (HTTP 401)."""


class Authenticator(Protocol):
    """Maps request headers to the owner the request acts for."""

    def owner(self, headers: Mapping[str, str]) -> str: ...

    def check_internal(self, headers: Mapping[str, str]) -> None:
        """Allow only the platform's own services (raw blob access)."""
        ...


class KeyAuthenticator:
    """Accept ``Key id:secret`` without verifying it; owner from a header."""

    def __init__(
        self,
        *,
        default_owner: str = "local",
        require_key: bool = False,
        internal_token: str | None = None,
    ) -> None:
        self.default_owner = default_owner
        self.require_key = require_key
        self.internal_token = internal_token

    def owner(self, headers: Mapping[str, str]) -> str:
        authorization = headers.get("authorization")
        if authorization is not None and not KEY_PATTERN.match(authorization):
            raise AuthenticationError(
                "The Authorization header must be 'Key <key_id>:<key_secret>'."
            )
        if authorization is None and self.require_key:
            raise AuthenticationError(
                "This filestore needs an API key: send "
                "'Authorization: Key <key_id>:<key_secret>'."
            )
        return headers.get(OWNER_HEADER) or self.default_owner

    def check_internal(self, headers: Mapping[str, str]) -> None:
        if self.internal_token is None:
            return
        given = headers.get(INTERNAL_TOKEN_HEADER, "")
        if not hmac.compare_digest(given, self.internal_token):
            raise AuthenticationError(
                "Raw blob access is for the platform's services; send "
                "x-fal-internal-token."
            )
