"""Who is calling: user keys, key scopes and the internal token.

User calls carry ``authorization: Key <key_id>:<secret>``; the key decides
the owner the call acts for. Calls from other platform services carry
``x-fal-internal-token``.

Secrets are 256-bit random values, so a salted HMAC-SHA256 is enough to make
a leaked database useless for logging in, while keeping per-request checks
cheap (the gateway authenticates every HTTP call). A slow password hash would
only matter for secrets people choose themselves, which keys never are.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from fal_registry.errors import PermissionDenied, Unauthenticated
from fal_registry.models import ApiKey

AUTHORIZATION_HEADER = "authorization"
INTERNAL_TOKEN_HEADER = "x-fal-internal-token"


class KeyScope(enum.StrEnum):
    ADMIN = "ADMIN"
    API = "API"


@dataclass(frozen=True)
class Principal:
    """The owner and key a user call acts for."""

    owner: str
    key_id: str
    scope: KeyScope


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: the secret exists only here, never in storage."""

    key_id: str
    secret: str
    salt: str
    secret_hash: str

    @property
    def credentials(self) -> str:
        return f"{self.key_id}:{self.secret}"


class KeyLookup(Protocol):
    def find_key(self, key_id: str) -> ApiKey | None: ...


def hash_secret(secret: str, salt: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def make_key() -> NewKey:
    """Draw a new key id and secret, and hash the secret with its own salt."""
    secret = secrets.token_hex(32)
    salt = secrets.token_hex(16)
    return NewKey(str(uuid.uuid4()), secret, salt, hash_secret(secret, salt))


def verify_secret(key: ApiKey, secret: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, key.salt), key.secret_hash)


def parse_credentials(value: str) -> tuple[str, str]:
    """Split ``Key id:secret`` (or a bare ``id:secret``) into its two parts."""
    scheme, _, rest = value.strip().partition(" ")
    credentials = rest.strip() if scheme.lower() == "key" else value.strip()
    key_id, separator, secret = credentials.partition(":")
    if not separator or not key_id or not secret:
        raise Unauthenticated(
            "The authorization metadata is malformed: send 'Key <key_id>:<secret>'."
        )
    return key_id, secret


def _header(metadata: Iterable[tuple[str, str | bytes]], name: str) -> str | None:
    for key, value in metadata:
        if key.lower() == name:
            return value.decode() if isinstance(value, bytes) else value
    return None


class Authenticator:
    """Checks keys and the internal token for the servicer."""

    def __init__(self, keys: KeyLookup, internal_token: str | None) -> None:
        self._keys = keys
        self._internal_token = internal_token

    def check_key(self, key_id: str, secret: str) -> Principal:
        """The principal of a key, or Unauthenticated when it is unknown."""
        key = self._keys.find_key(key_id)
        if key is None or key.revoked_at is not None or not verify_secret(key, secret):
            raise Unauthenticated(
                "The key is not valid: check the key id and secret, or create a "
                "new key."
            )
        return Principal(key.owner, key.key_id, KeyScope(key.scope))

    def user(self, metadata: Iterable[tuple[str, str | bytes]]) -> Principal:
        """The principal of a user call, from its ``authorization`` metadata."""
        value = _header(metadata, AUTHORIZATION_HEADER)
        if not value:
            raise Unauthenticated(
                "No key was sent: pass 'authorization: Key <key_id>:<secret>' "
                "(set FAL_KEY for the fal client)."
            )
        return self.check_key(*parse_credentials(value))

    def require_internal(self, metadata: Iterable[tuple[str, str | bytes]]) -> None:
        """Pass only calls that carry the platform's internal token."""
        sent = _header(metadata, INTERNAL_TOKEN_HEADER)
        if not sent:
            raise Unauthenticated(
                "This call is internal to the platform: send the "
                f"'{INTERNAL_TOKEN_HEADER}' metadata."
            )
        expected = self._internal_token
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Unauthenticated(
                f"The '{INTERNAL_TOKEN_HEADER}' metadata does not match this "
                "registry's internal token."
            )


def require_admin(principal: Principal, action: str) -> None:
    """Refuse ``action`` to keys that are not ADMIN keys."""
    if principal.scope is not KeyScope.ADMIN:
        raise PermissionDenied(
            f"Key {principal.key_id} has scope {principal.scope.value}, which may "
            f"not {action}; use an ADMIN key."
        )
