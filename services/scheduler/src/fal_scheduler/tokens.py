"""Short-lived app tokens: what a browser sends instead of a key.

A key holder asks ``POST /tokens/`` for a token that allows some of its own
apps for a few minutes; the browser passes it as the ``fal_jwt_token``
query parameter of a websocket or stream URL (or ``Authorization: Bearer``).
Tokens are JWTs signed with HMAC-SHA256 (HS256) under a key derived from the
platform's internal secret, so every scheduler of a platform accepts them
and no key secret ever reaches the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TOKEN_SECONDS",
    "MAX_TOKEN_SECONDS",
    "AppTokens",
    "InvalidTokenError",
    "TokenClaims",
]

DEFAULT_TOKEN_SECONDS = 120
MAX_TOKEN_SECONDS = 3600
_HEADER: dict[str, object] = {"alg": "HS256", "typ": "JWT"}
_ISSUER = "fal-platform"


class InvalidTokenError(Exception):
    """The token is malformed, forged or expired; the message says which."""


@dataclass(frozen=True)
class TokenClaims:
    owner: str
    apps: tuple[str, ...]  # "owner/alias"
    expires_at: int

    def allows(self, owner: str, alias: str) -> bool:
        return f"{owner}/{alias}" in self.apps


class AppTokens:
    """Issues and verifies app tokens under one secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("App tokens need a non-empty signing secret.")
        self._key = hmac.new(
            secret.encode(), b"fal-platform app tokens", hashlib.sha256
        ).digest()

    def issue(
        self, owner: str, apps: list[str], seconds: int = DEFAULT_TOKEN_SECONDS
    ) -> str:
        """A token allowing ``apps`` (``owner/alias``) for ``seconds``."""
        claims = {
            "iss": _ISSUER,
            "sub": owner,
            "apps": sorted(set(apps)),
            "exp": int(time.time()) + seconds,
        }
        signing_input = f"{_encode(_HEADER)}.{_encode(claims)}"
        return f"{signing_input}.{_b64(self._sign(signing_input))}"

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; raise InvalidTokenError otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidTokenError(
                "The token is not a JWT (three dot-separated parts)."
            )
        header, claims, signature = parts
        expected = self._sign(f"{header}.{claims}")
        if not hmac.compare_digest(_b64(expected), signature):
            raise InvalidTokenError("The token's signature is invalid.")
        try:
            decoded = json.loads(_unb64(claims))
            result = TokenClaims(
                owner=str(decoded["sub"]),
                apps=tuple(str(app) for app in decoded["apps"]),
                expires_at=int(decoded["exp"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidTokenError("The token's claims are malformed.") from error
        if result.expires_at <= time.time():
            raise InvalidTokenError("The token has expired; ask for a new one.")
        return result

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()


def _encode(document: dict[str, object]) -> str:
    return _b64(json.dumps(document, separators=(",", ":")).encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
