"""API keys and where the SDK finds them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fal._private.config import Config
from fal.exceptions import CredentialsError, MissingCredentialsError


class Credentials:
    """How a client proves who it is; the base presents nothing."""

    def to_headers(self) -> dict[str, str]:
        """HTTP headers that authenticate a call."""
        return {}

    def to_grpc_metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata that authenticates a call."""
        return ()


@dataclass(frozen=True)
class FalServerlessKeyCredentials(Credentials):
    """An API key: ``key_id`` and ``key_secret``."""

    key_id: str
    key_secret: str

    @classmethod
    def from_key(cls, key: str) -> FalServerlessKeyCredentials:
        """Parse ``"key_id:key_secret"``."""
        key_id, separator, key_secret = key.strip().partition(":")
        if not separator or not key_id or not key_secret:
            raise CredentialsError(
                "The API key is malformed; expected 'key_id:key_secret'."
            )
        return cls(key_id, key_secret)

    @property
    def authorization(self) -> str:
        return f"Key {self.key_id}:{self.key_secret}"

    def to_headers(self) -> dict[str, str]:
        return {"Authorization": self.authorization}

    def to_grpc_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", self.authorization),)

    def __repr__(self) -> str:
        # The secret stays out of logs and tracebacks.
        return f"FalServerlessKeyCredentials(key_id={self.key_id!r}, key_secret='***')"


def get_credentials(
    team: str | None = None,
    key: str | None = None,
    profile: str | None = None,
    *,
    config: Config | None = None,
) -> FalServerlessKeyCredentials:
    """Find the API key to use.

    Order: ``key``, ``FAL_KEY``, the profile's ``key``, then ``FAL_KEY_ID``
    with ``FAL_KEY_SECRET``. ``team`` is accepted for compatibility; keys
    already belong to one owner.
    """
    found = key or os.environ.get("FAL_KEY")
    if not found:
        found = (config or Config(profile=profile)).get("key")
    if found:
        return FalServerlessKeyCredentials.from_key(found)

    key_id, key_secret = os.environ.get("FAL_KEY_ID"), os.environ.get("FAL_KEY_SECRET")
    if key_id and key_secret:
        return FalServerlessKeyCredentials(key_id, key_secret)
    raise MissingCredentialsError(
        "No API key found; set FAL_KEY to 'key_id:key_secret', add key = ... to "
        "your profile in ~/.fal/config.toml, or set FAL_KEY_ID and FAL_KEY_SECRET."
    )
