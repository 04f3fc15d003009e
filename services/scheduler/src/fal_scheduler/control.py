"""Answers the registry's questions about live runners, and the app secrets.

The registry asks on ``fal.scheduler.control`` (NATS request/reply, JSON):

- ``{"action": "list", "owner", "alias"?, "since"?}`` →
  ``{"ok": true, "runners": [{runner_id, owner, alias, revision, state,
  in_flight_requests, uptime_seconds, expiration_countdown, machine_type,
  replacement}]}``
- ``{"action": "stop" | "kill", "owner", "runner_id", "replace_first"}`` →
  ``{"ok": true}``, or ``{"ok": false, "error": "not_found", "message"}``
  (another owner's runner is "not found" too)
- ``{"action": "logs", "owner", "runner_id", "offset"?, "since"?}`` →
  ``{"ok": true, "lines": [{timestamp, level, message, request_id, source}],
  "next_offset"}``: the runner's output after byte ``offset`` (ISO ``since``
  drops older lines); "not found" for another owner's runner, or one this
  scheduler did not start
- ``{"action": "rollout", "owner", "alias", "force"}`` →
  ``{"ok": true, "runners": N}``: the alias's pools are retired (drained, or
  stopped at once when ``force``); the next request starts fresh runners.

Only one scheduler answers a request: with several schedulers, ``list``
shows the runners of whichever answered first. ``fal.keys.revoked``
(``{"key_id"}``) drops the gateway's cached authentications of that key, so
a revoked key stops working at once; ``fal.secrets.changed``
(``{"owner", "environment_name"}``) drops cached resolutions of the owner's
apps. A revision's pool keeps the secrets it was resolved with: changed
secrets reach an app's runners at its next deploy or rollout.

``list`` includes runners still starting: ``PENDING`` while the environment
is prepared (no process yet; the id is a placeholder ``pending-...`` that
cannot be stopped), ``SETUP`` while the process runs ``setup()``. ``uptime``
counts from the process's start. ``stop`` with ``replace_first`` answers at
once; the runner keeps serving (``replacement: WILL_REPLACE``) while a
replacement starts in the same pool, and is drained (``DID_REPLACE``) once
the replacement is ready. When the replacement fails to start, the runner
is left serving and the failure is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from fal_proto import registry_pb2
from fal_scheduler.runner_logs import read_runner_log

if TYPE_CHECKING:
    from fal_scheduler.pools import RunnerPools
    from fal_scheduler.runners import RunnerBackend

__all__ = ["CONTROL_SUBJECT", "ControlResponder", "secret_environment"]

logger = logging.getLogger(__name__)

CONTROL_SUBJECT = "fal.scheduler.control"
KEY_REVOKED_SUBJECT = "fal.keys.revoked"
SECRETS_CHANGED_SUBJECT = "fal.secrets.changed"


def secret_environment(app: registry_pb2.ResolveApplicationResponse) -> dict[str, str]:
    """The app's secrets as its runners' environment variables."""
    return {secret.name: secret.value for secret in app.secrets}


class ControlResponder:
    """Subscribes to ``fal.scheduler.control`` and answers from the pools."""

    def __init__(
        self,
        pools: RunnerPools,
        backend: RunnerBackend,
        forget_key: Callable[[str], None] | None = None,
        forget_owner: Callable[[str], None] | None = None,
        kill_grace: float = 0.0,
    ) -> None:
        self.forget_owner = forget_owner
        self.pools = pools
        self.backend = backend
        self.forget_key = forget_key
        self.kill_grace = kill_grace
        self._client: NatsClient | None = None
        self._first_seen: dict[str, float] = {}
        # runner_id -> WILL_REPLACE / DID_REPLACE around a replace_first stop.
        self._replacement: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, nats_url: str) -> None:
        self._client = await nats.connect(
            nats_url, name="fal-scheduler-control", max_reconnect_attempts=-1
        )
        await self._client.subscribe(CONTROL_SUBJECT, cb=self._handle)
        await self._client.subscribe(KEY_REVOKED_SUBJECT, cb=self._key_revoked)
        await self._client.subscribe(SECRETS_CHANGED_SUBJECT, cb=self._secrets_changed)
        await self._client.flush()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None and not self._client.is_closed:
            await self._client.drain()

    async def _handle(self, message: Msg) -> None:
        try:
            request = json.loads(message.data)
            answer = await self.answer(request)
        except (ValueError, KeyError, TypeError) as error:
            answer = {"ok": False, "error": "invalid", "message": str(error)}
        await message.respond(json.dumps(answer).encode())

    async def _key_revoked(self, message: Msg) -> None:
        try:
            key_id = json.loads(message.data)["key_id"]
        except (ValueError, KeyError, TypeError):
            return
        if self.forget_key is not None:
            self.forget_key(str(key_id))

    async def _secrets_changed(self, message: Msg) -> None:
        # The next deploy or rollout resolves again and gets the new secrets;
        # pools already running keep the ones they were created with.
        try:
            owner = json.loads(message.data)["owner"]
        except (ValueError, KeyError, TypeError):
            return
        if self.forget_owner is not None:
            self.forget_owner(str(owner))

    async def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to one control request."""
        action = request["action"]
        owner = str(request["owner"])
        if action == "list":
            return {"ok": True, "runners": self.list_runners(owner, request)}
        if action == "rollout":
            alias = str(request["alias"])
            return {"ok": True, "runners": self._rollout(owner, alias)}
        if action == "logs":
            return self._logs(owner, request)
        if action in ("stop", "kill"):
            replace_first = action == "stop" and bool(request.get("replace_first"))
            return await self._stop(
                owner, str(request["runner_id"]), action, replace_first
            )
        raise ValueError(f"unknown control action {action!r}")

    def list_runners(self, owner: str, request: dict[str, Any]) -> list[dict]:
        alias = request.get("alias")
        since = _parse_since(request.get("since"))
        now = time.time()
        starting = self._starting_by_revision()
        listed = []
        for key, pool in self.pools.pools().items():
            pool_owner, pool_alias, revision = key
            if pool_owner != owner or (alias and pool_alias != alias):
                continue
            known = pool.runners + getattr(pool, "stopping", [])
            if request.get("include_terminated"):
                known += getattr(pool, "terminated", [])
            entries = [(runner.handle, runner.state.value, runner) for runner in known]
            ready = {runner.handle.runner_id for runner in known}
            setup = [h for h in starting.get(key, []) if h.runner_id not in ready]
            entries += [(handle, "SETUP", None) for handle in setup]
            for index in range(max(pool.starting - len(setup), 0)):
                entries.append(
                    (_Pending(f"pending-{revision}-{index}"), "PENDING", None)
                )
            if getattr(pool, "failure_delay", 0.0) > 0:
                entries.append(
                    (_Pending(f"failure-delay-{revision}"), "FAILURE_DELAY", None)
                )
            for handle, state, runner in entries:
                started = self._started_at(handle, now)
                if since is not None and started < since:
                    continue
                listed.append(
                    {
                        "runner_id": handle.runner_id,
                        "owner": pool_owner,
                        "alias": pool_alias,
                        "revision": revision,
                        "state": state,
                        "in_flight_requests": runner.in_flight if runner else 0,
                        "uptime_seconds": round(max(now - started, 0.0), 3),
                        "expiration_countdown": _countdown(runner, pool),
                        "machine_type": getattr(pool.settings, "machine_type", ""),
                        "replacement": self._replacement.get(
                            handle.runner_id, "NO_REPLACE"
                        ),
                    }
                )
        return listed

    def _logs(self, owner: str, request: dict[str, Any]) -> dict[str, Any]:
        runner_id = str(request["runner_id"])
        owners = getattr(self.backend, "owners", {})
        logs_dir = getattr(self.backend, "logs_dir", None)
        if owners.get(runner_id) != owner or logs_dir is None:
            return {
                "ok": False,
                "error": "not_found",
                "message": f"No runner {runner_id!r} has run for {owner}.",
            }
        offset = max(int(request.get("offset") or 0), 0)
        since = _parse_since(request.get("since"))
        lines, next_offset = read_runner_log(
            Path(logs_dir) / f"{runner_id}.log", offset, since
        )
        return {"ok": True, "lines": lines, "next_offset": next_offset}

    def _starting_by_revision(self) -> dict[tuple[str, str, str], list[Any]]:
        """Runner processes the backend has started, by ``(owner, alias, rev)``."""
        listing = getattr(self.backend, "runners", None)
        found: dict[tuple[str, str, str], list[Any]] = {}
        if listing is None:
            return found
        for handle in listing():
            spec = getattr(handle, "spec", None)
            if spec is None or handle.exited:
                continue
            key = (spec.owner, spec.alias, spec.revision)
            found.setdefault(key, []).append(handle)
        return found

    def _rollout(self, owner: str, alias: str) -> int:
        pools = [
            pool
            for (pool_owner, pool_alias, _), pool in self.pools.pools().items()
            if pool_owner == owner and pool_alias == alias
        ]
        count = sum(len(pool.runners) for pool in pools)
        self.pools.retire(owner, [alias])
        logger.info("Rolling out %s/%s: retiring %d runners", owner, alias, count)
        return count

    async def _stop(
        self, owner: str, runner_id: str, action: str, replace_first: bool = False
    ) -> dict[str, Any]:
        for (pool_owner, _, _), pool in self.pools.pools().items():
            if pool_owner != owner:
                continue
            for runner in pool.runners:
                if runner.handle.runner_id != runner_id:
                    continue
                if replace_first and not runner.draining:
                    if runner_id not in self._replacement:
                        self._replacement[runner_id] = "WILL_REPLACE"
                        self._spawn(self._replace(pool, runner))
                    return {"ok": True}
                await self._drain(pool, runner, action)
                return {"ok": True}
        return {
            "ok": False,
            "error": "not_found",
            "message": f"No runner {runner_id!r} is running for {owner}.",
        }

    async def _drain(self, pool: Any, runner: Any, action: str) -> None:
        runner.draining = True
        grace = self.kill_grace if action == "kill" else pool.settings.termination_grace
        logger.info("%s runner %s on request", action.title(), runner.handle.runner_id)
        await self.backend.stop(runner.handle, grace)

    async def _replace(self, pool: Any, runner: Any) -> None:
        """Start a replacement, then drain ``runner``; on failure keep it."""
        runner_id = runner.handle.runner_id
        try:
            spare = await pool.start_spare()
        except Exception as error:
            self._replacement.pop(runner_id, None)
            logger.warning(
                "The replacement of runner %s failed to start (%s); it keeps serving",
                runner_id,
                error,
            )
            return
        logger.info("Runner %s replaces %s", spare.handle.runner_id, runner_id)
        self._replacement[runner_id] = "DID_REPLACE"
        try:
            await self._drain(pool, runner, "stop")
        finally:
            self._replacement.pop(runner_id, None)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _started_at(self, handle: Any, now: float) -> float:
        started = getattr(handle, "started_at", None)
        if isinstance(started, int | float):
            return float(started)
        # Backends without a start time: count from when we first saw it.
        return self._first_seen.setdefault(handle.runner_id, now)


class _Pending:
    """Stands for a runner whose environment is still being prepared."""

    def __init__(self, runner_id: str) -> None:
        self.runner_id = runner_id
        self.started_at = time.time()


def _parse_since(value: Any) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value)).timestamp()


def _countdown(runner: Any, pool: Any) -> int | None:
    """Seconds until an idle runner stops; None while busy or not ready."""
    if runner is None or runner.in_flight or getattr(runner, "draining", False):
        return None
    idle = time.monotonic() - runner.last_used
    return max(0, int(pool.settings.keep_alive - idle))
