"""The registry's side of NATS: events it announces and builds it requests.

Subjects and payloads are those of docs/internals.md ("NATS"); the encode
and parse functions below are the only places that know their shape.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client

from fal_registry.errors import BuildFailed, BuildTimedOut, Unavailable

logger = logging.getLogger(__name__)

BUILD_SUBJECT = "fal.scheduler.build"
DEPLOYED_SUBJECT = "fal.apps.deployed"
DELETED_SUBJECT = "fal.apps.deleted"
CONTROL_SUBJECT = "fal.scheduler.control"
KEY_REVOKED_SUBJECT = "fal.keys.revoked"
SECRETS_CHANGED_SUBJECT = "fal.secrets.changed"


@dataclass(frozen=True)
class BuildLog:
    message: str
    level: str
    timestamp: datetime


@dataclass(frozen=True)
class BuildDone:
    env_key: str


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def decode(data: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def parse_build_log(payload: dict[str, Any]) -> BuildLog:
    try:
        timestamp = datetime.fromisoformat(str(payload["timestamp"]))
    except (KeyError, ValueError):
        timestamp = datetime.now(UTC)
    level = str(payload.get("level") or "INFO").upper()
    return BuildLog(str(payload.get("message", "")), level, timestamp)


class Messaging:
    """One NATS connection of the registry; reconnects are left to nats-py."""

    def __init__(
        self,
        client: Client,
        url: str,
        ack_timeout: float = 10.0,
        build_timeout: float = 1800.0,
    ) -> None:
        self._client = client
        self.url = url
        self.ack_timeout = ack_timeout
        self.build_timeout = build_timeout

    @classmethod
    async def connect(
        cls, url: str, connect_timeout: float = 10.0, **options: float
    ) -> Messaging:
        """Connect to ``url``, waiting up to ``connect_timeout`` for it."""
        try:
            client = await asyncio.wait_for(
                nats.connect(
                    url,
                    name="fal-registry",
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                ),
                timeout=connect_timeout,
            )
        except (OSError, TimeoutError, nats.errors.Error) as error:
            raise Unavailable(f"Cannot reach NATS at {url}: {error!r}") from error
        return cls(client, url, **options)

    async def close(self) -> None:
        if not self._client.is_closed:
            await self._client.drain()

    async def publish_deployed(
        self,
        owner: str,
        alias: str,
        revision: str,
        environment: str,
        env_key: str,
        strategy: str = "rolling",
    ) -> None:
        await self._announce(
            DEPLOYED_SUBJECT,
            {
                "owner": owner,
                "alias": alias,
                "revision": revision,
                "environment_name": environment,
                "env_key": env_key,
                "deployment_strategy": strategy,
            },
        )

    async def publish_deleted(self, owner: str, alias: str, environment: str) -> None:
        payload = {"owner": owner, "alias": alias, "environment_name": environment}
        await self._announce(DELETED_SUBJECT, payload)

    async def publish_secrets_changed(self, owner: str, environment: str) -> None:
        """Tell schedulers to resolve the owner's apps again (names only)."""
        payload = {"owner": owner, "environment_name": environment}
        await self._announce(SECRETS_CHANGED_SUBJECT, payload)

    async def publish_key_revoked(self, key_id: str) -> None:
        """Tell gateways to drop their cached authentications of a key."""
        await self._announce(KEY_REVOKED_SUBJECT, {"key_id": key_id})

    async def _announce(self, subject: str, payload: dict[str, Any]) -> None:
        # The change is already committed; a lost event only delays caches
        # that also expire on their own, so it must not fail the call.
        try:
            await self._client.publish(subject, encode(payload))
            await self._client.flush(timeout=5)
        except (TimeoutError, nats.errors.Error):
            subject_of = (
                payload.get("alias") or payload.get("key_id") or payload.get("owner")
            )
            logger.warning("Could not publish %s for %s", subject, subject_of)

    async def control(
        self, request: dict[str, Any], timeout: float = 5.0
    ) -> dict[str, Any]:
        """Ask the scheduler about, or act on, its live runners; its answer.

        Raises Unavailable when no scheduler answers within ``timeout``.
        """
        try:
            reply = await self._client.request(
                CONTROL_SUBJECT, encode(request), timeout=timeout
            )
        except (TimeoutError, nats.errors.Error) as error:
            raise Unavailable(
                f"no scheduler answered runner requests on {self.url}"
            ) from error
        return decode(reply.data)

    async def build(
        self,
        build_id: str,
        requirements: list[list[str]],
        python_version: str,
        *,
        no_cache: bool = False,
        container_image: dict[str, Any] | None = None,
    ) -> AsyncIterator[BuildLog | BuildDone]:
        """Ask the scheduler to build an environment; yield its logs, then done.

        Raises Unavailable when no scheduler acknowledges the request,
        BuildFailed when the build fails and BuildTimedOut when it takes
        longer than ``build_timeout``.
        """
        # Subscribe first so no log line published right after the ack is lost.
        try:
            subscription = await self._client.subscribe(f"fal.build.{build_id}.*")
        except nats.errors.Error as error:
            message = f"NATS at {self.url} is unreachable: {error!r}"
            raise Unavailable(message) from error
        try:
            await self._request_build(
                build_id, requirements, python_version, no_cache, container_image
            )
            async for event in self._build_events(subscription):
                yield event
        finally:
            await subscription.unsubscribe()

    async def _request_build(
        self,
        build_id: str,
        requirements: list[list[str]],
        python_version: str,
        no_cache: bool = False,
        container_image: dict[str, Any] | None = None,
    ) -> None:
        request: dict[str, Any] = {
            "build_id": build_id,
            "requirements": requirements,
            "python_version": python_version,
        }
        if no_cache:
            request["no_cache"] = True
        if container_image is not None:
            request["container_image"] = container_image
        try:
            reply = await self._client.request(
                BUILD_SUBJECT, encode(request), timeout=self.ack_timeout
            )
        except (TimeoutError, nats.errors.Error) as error:
            raise Unavailable(
                f"no scheduler answered build requests on {self.url}"
            ) from error
        answer = decode(reply.data)
        if not answer.get("accepted"):
            reason = answer.get("error") or "no reason given"
            raise BuildFailed(f"The scheduler refused the build: {reason}")

    async def _build_events(
        self, subscription: Any
    ) -> AsyncIterator[BuildLog | BuildDone]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.build_timeout
        while True:
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                message = await subscription.next_msg(timeout=remaining)
            except TimeoutError as error:
                raise BuildTimedOut(
                    f"The environment build did not finish within "
                    f"{self.build_timeout:g} seconds."
                ) from error
            payload = decode(message.data)
            kind = message.subject.rsplit(".", 1)[-1]
            if kind == "log":
                yield parse_build_log(payload)
            elif kind == "done":
                yield _parse_done(payload)
                return


def _parse_done(payload: dict[str, Any]) -> BuildDone:
    if payload.get("ok") and payload.get("env_key"):
        return BuildDone(str(payload["env_key"]))
    raise BuildFailed(
        f"The environment build failed: {payload.get('error') or 'no reason given'}"
    )
