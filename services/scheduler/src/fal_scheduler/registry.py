"""Client of the registry's internal gRPC calls, with caches.

Resolutions are cached until an ``fal.apps.*`` event drops them (and for at
most ``resolve_ttl`` seconds, in case an event was missed); successful
authentications for ``auth_ttl`` seconds.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import grpc

from fal_proto import registry_pb2, registry_pb2_grpc
from fal_scheduler.errors import (
    AppNotFoundError,
    InvalidKeyError,
    RegistryUnavailableError,
)

__all__ = ["Identity", "RegistryClient"]

_INTERNAL_TOKEN_HEADER = "x-fal-internal-token"


@dataclass(frozen=True)
class Identity:
    """Who a key belongs to."""

    owner: str
    key_id: str
    scope: int


class RegistryClient:
    """Resolves apps and checks keys against the registry."""

    def __init__(
        self,
        address: str,
        internal_token: str,
        resolve_ttl: float = 60.0,
        auth_ttl: float = 30.0,
        timeout: float = 10.0,
    ) -> None:
        self.address = address
        self._channel = grpc.aio.insecure_channel(address)
        self._stub = registry_pb2_grpc.RegistryStub(self._channel)
        self._metadata = ((_INTERNAL_TOKEN_HEADER, internal_token),)
        self._resolve_ttl = resolve_ttl
        self._auth_ttl = auth_ttl
        self._timeout = timeout
        self._resolutions: dict[
            tuple[str, str], tuple[float, registry_pb2.ResolveApplicationResponse]
        ] = {}
        self._identities: dict[tuple[str, str], tuple[float, Identity]] = {}

    async def resolve(
        self, owner: str, alias: str, fresh: bool = False
    ) -> registry_pb2.ResolveApplicationResponse:
        """What ``owner/alias`` runs now; raises ``AppNotFoundError``.

        ``fresh`` asks the registry even when cached and leaves the cache
        as it was (a rolling deploy warms the new revision that way while
        traffic still goes to the old one).
        """
        key = (owner, alias)
        cached = self._resolutions.get(key)
        if not fresh and cached is not None and cached[0] > time.monotonic():
            return cached[1]
        request = registry_pb2.ResolveApplicationRequest(owner=owner, alias=alias)
        try:
            response = await self._stub.ResolveApplication(
                request, metadata=self._metadata, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise AppNotFoundError(
                    f"Application '{owner}/{alias}' not found."
                ) from error
            raise _unavailable(self.address, error) from error
        if not fresh:
            self._resolutions[key] = (time.monotonic() + self._resolve_ttl, response)
        return response

    async def authenticate(self, key_id: str, key_secret: str) -> Identity:
        """The owner of a key; raises ``InvalidKeyError``."""
        digest = hashlib.sha256(key_secret.encode()).hexdigest()
        key = (key_id, digest)
        cached = self._identities.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        request = registry_pb2.AuthenticateRequest(key_id=key_id, key_secret=key_secret)
        try:
            response = await self._stub.Authenticate(
                request, metadata=self._metadata, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.PERMISSION_DENIED,
                grpc.StatusCode.NOT_FOUND,
            ):
                raise InvalidKeyError("The key is invalid or was revoked.") from error
            raise _unavailable(self.address, error) from error
        identity = Identity(response.owner, response.key_id, response.scope)
        self._identities[key] = (time.monotonic() + self._auth_ttl, identity)
        return identity

    def forget_key(self, key_id: str) -> None:
        """Drop cached authentications of a revoked key."""
        for key in list(self._identities):
            if key[0] == key_id:
                del self._identities[key]

    def forget(self, owner: str, alias: str | None = None) -> None:
        """Drop cached resolutions of one alias, or of every alias of owner."""
        for key in list(self._resolutions):
            if key[0] == owner and (alias is None or key[1] == alias):
                del self._resolutions[key]

    async def close(self) -> None:
        await self._channel.close()


def _unavailable(address: str, error: grpc.aio.AioRpcError) -> RegistryUnavailableError:
    return RegistryUnavailableError(
        f"The registry at {address} failed: {error.code().name}: {error.details()}"
    )


def parse_key_header(header: str) -> tuple[str, str] | None:
    """``(key_id, key_secret)`` from ``Authorization: Key id:secret``, else None."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "key":
        return None
    key_id, sep, key_secret = credentials.strip().partition(":")
    if not sep or not key_id or not key_secret:
        return None
    return key_id, key_secret
