"""The durable request queue: accept, dispatch to runners, retry, complete.

``RequestQueue.submit`` stores a request in JetStream (``queue_store``)
and answers at once. A pull consumer shared by every scheduler fetches
accepted requests into per-app waiting lists ordered by priority (normal
before low) and arrival; one dispatcher per app takes a slot from the app's
runner pool for the head of its list and runs the request there. The
message is acknowledged only after the result record is ``COMPLETED``, so a
scheduler killed at any moment loses nothing: unacknowledged requests are
delivered again (after ``ack_wait``) and a request whose record is already
``COMPLETED`` is only acknowledged, never run or answered twice.

Retries (at most ``max_retries``): a runner that answers 503 is replaced and
the request goes to another runner; 504 and 429 are retried on the same
pool; a runner that goes away mid-request (connection error) or exceeds
``request_timeout`` is replaced. ``X-Fal-No-Retry``, the app's
``skip_retry_conditions`` (``server_error``, ``timeout``,
``connection_error``) and the runner's ``X-Fal-Needs-Retry`` override it.

Known shortcomings: a request that was running when its scheduler died runs
again from the start (its result is still stored once); webhooks not yet
delivered when a scheduler dies are not sent again.

A request's logs are the JSON lines of its runner's log file written after it
started whose ``request_id`` is its own (the runtime tags each line), so with
``max_multiplexing`` above 1 neighbours' lines are left out; lines that are
not JSON (output from before the runtime's capture began) are kept as is.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from fal_proto import registry_pb2
from fal_scheduler.errors import (
    AppNotFoundError,
    PoolClosedError,
    QueueError,
    QueueFullError,
    QueueUnavailableError,
    RegistryUnavailableError,
    RequestNotFoundError,
    SetupFailingError,
)
from fal_scheduler.metrics import SchedulerMetrics
from fal_scheduler.pool import Lease, Runner, RunnerPool
from fal_scheduler.pools import RunnerPools
from fal_scheduler.queue_store import (
    META_HEADER,
    QueueStore,
    Record,
    StoreSettings,
    now,
    valid_token,
)
from fal_scheduler.registry import RegistryClient
from fal_scheduler.runner_logs import parse_log_line

__all__ = ["QueueSettings", "RequestQueue", "Submission"]

logger = logging.getLogger(__name__)

IN_QUEUE = "IN_QUEUE"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
PRIORITIES = {"normal": 0, "low": 1}
CANCEL_SUBJECT = "fal.queue.cancel"
_MAX_LOG_BYTES = 256 * 1024
_MAX_STICKY = 10000  # remembered runner hints, oldest forgotten first
_RESULT_HEADERS = ("content-type", "x-fal-error-type", "x-fal-request-timeout-type")


@dataclass(frozen=True)
class QueueSettings:
    """Limits and timings of the queue."""

    result_retention: float = 24 * 3600.0
    queue_limit: int = 10000
    max_retries: int = 10
    ack_wait: float = 30.0
    default_request_timeout: float = 3600.0
    webhook_attempts: int = 5
    webhook_backoff: float = 1.0
    webhook_timeout: float = 10.0
    sweep_interval: float = 0.2


@dataclass(frozen=True)
class Submission:
    """A request accepted by the HTTP layer, ready to be queued."""

    owner: str
    alias: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    priority: str = "normal"
    start_timeout: float | None = None
    no_retry: bool = False
    runner_hint: str | None = None
    webhook_url: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(eq=False)
class _Item:
    """A request this scheduler holds: waiting for a slot or running."""

    request_id: str
    meta: Record
    msg: Msg
    sequence: int
    attempts: int = 0
    task: asyncio.Task[None] | None = None
    runner: Runner | None = None
    log_file: Path | None = None
    log_offset: int = 0
    cancelled: bool = False

    @property
    def order(self) -> tuple[int, int]:
        return (PRIORITIES.get(self.meta.get("priority", "normal"), 0), self.sequence)

    @property
    def app(self) -> tuple[str, str]:
        return (self.meta["owner"], self.meta["alias"])


@dataclass(frozen=True)
class _Outcome:
    """How one attempt ended: a response to store, or a reason to retry."""

    status_code: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    retry_condition: str | None = None
    message: str = ""
    replace_runner: bool = False


class _AppQueue:
    """Requests of one app waiting for a runner slot, in dispatch order."""

    def __init__(self) -> None:
        self.waiting: list[_Item] = []
        self.changed = asyncio.Event()
        self.dispatcher: asyncio.Task[None] | None = None

    def add(self, item: _Item) -> None:
        bisect.insort(self.waiting, item, key=lambda i: i.order)
        self.changed.set()

    def remove(self, item: _Item) -> bool:
        if item in self.waiting:
            self.waiting.remove(item)
            return True
        return False

    def pop(self) -> _Item | None:
        return self.waiting.pop(0) if self.waiting else None

    def position(self, item: _Item) -> int:
        return self.waiting.index(item) if item in self.waiting else 0

    def oldest_since(self) -> float | None:
        if not self.waiting:
            return None
        submitted = min(i.meta["submitted_at"] for i in self.waiting)
        return time.monotonic() - max(now() - submitted, 0.0)


class RequestQueue:
    """The queue of every app, backed by JetStream."""

    def __init__(
        self,
        registry: RegistryClient,
        pools: RunnerPools,
        metrics: SchedulerMetrics,
        settings: QueueSettings | None = None,
    ) -> None:
        self.registry = registry
        self.pools = pools
        self.metrics = metrics
        self.settings = settings or QueueSettings()
        self.store = QueueStore(
            StoreSettings(
                result_retention=self.settings.result_retention,
                ack_wait=self.settings.ack_wait,
            )
        )
        self._nats: NatsClient | None = None
        self._apps: dict[tuple[str, str], _AppQueue] = {}
        self._held: dict[str, _Item] = {}
        self._sticky: dict[tuple[tuple[str, str], str | None], str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(timeout=None)
        self._closing = False

    # -- lifecycle -------------------------------------------------------

    async def start(self, nats_url: str) -> None:
        """Connect, create the JetStream objects, start consuming."""
        self._nats = await nats.connect(nats_url, name="fal-scheduler-queue")
        await self.store.connect(self._nats)
        subscription = await self.store.subscribe()
        await self._nats.subscribe(CANCEL_SUBJECT, cb=self._on_cancel)
        self._loops = [
            asyncio.create_task(self._fetch_forever(subscription)),
            asyncio.create_task(self._heartbeat_forever()),
            asyncio.create_task(self._sweep_forever()),
        ]
        logger.info("Queue consuming accepted requests from %s", nats_url)

    async def close(self, grace: float) -> None:
        """Stop taking requests; give running ones ``grace`` s; hand back the rest.

        Requests not finished are left unacknowledged (waiting ones are
        handed back at once) so that the next scheduler runs them.
        """
        self._closing = True
        for loop in self._loops:
            loop.cancel()
        for queue in self._apps.values():
            if queue.dispatcher is not None:
                queue.dispatcher.cancel()
        await asyncio.wait(self._loops, timeout=5.0)
        for queue in self._apps.values():
            for item in queue.waiting:
                with contextlib.suppress(Exception):
                    await item.msg.nak()
            queue.waiting.clear()
        running = [i.task for i in self._held.values() if i.task is not None]
        if running:
            await asyncio.wait(running, timeout=grace)
        for task in [*running, *self._tasks]:
            task.cancel()
        await asyncio.gather(*running, *self._tasks, return_exceptions=True)
        for item in self._held.values():  # let the next scheduler take them now
            with contextlib.suppress(Exception):
                await item.msg.nak()
        await self._client.aclose()
        if self._nats is not None:
            # close, not drain: a pull subscription would hold drain open.
            with contextlib.suppress(Exception):
                await self._nats.close()

    # -- API -------------------------------------------------------------

    async def submit(self, submission: Submission) -> Record:
        """Store a request durably and return its record (``IN_QUEUE``)."""
        if not (valid_token(submission.owner) and valid_token(submission.alias)):
            raise RequestNotFoundError(
                f"Application '{submission.owner}/{submission.alias}' not found."
            )
        depth = await self._guard(self.store.depth(submission.owner, submission.alias))
        if depth >= self.settings.queue_limit:
            raise QueueFullError(
                f"The queue of '{submission.owner}/{submission.alias}' holds "
                f"{depth} requests, its limit ({self.settings.queue_limit}); "
                "retry later."
            )
        meta = _meta(submission)
        await self._guard(self.store.publish(meta, submission.body))
        record = _new_record(meta)
        # The dispatcher may have created the record already from the
        # message; either way it exists now.
        await self._guard(self.store.create(record))
        return record

    async def record(self, request_id: str) -> Record:
        found = await self._guard(self.store.get(request_id))
        if found is None:
            raise RequestNotFoundError(f"Request '{request_id}' not found.")
        return found[0]

    def queue_position(self, record: Record) -> int:
        item = self._held.get(record["request_id"])
        queue = self._apps.get((record["owner"], record["alias"]))
        if item is None or queue is None:
            return len(queue.waiting) if queue is not None else 0
        return queue.position(item)

    def live_logs(self, request_id: str) -> list[dict[str, Any]] | None:
        """The output of a running request so far, None if not running here."""
        item = self._held.get(request_id)
        if item is None or item.log_file is None:
            return None
        return _read_logs(item.log_file, item.log_offset, request_id)

    async def result_body(self, record: Record) -> bytes:
        return await self._guard(self.store.result_body(record))

    async def cancel(self, request_id: str) -> None:
        """Cancel a queued request, or interrupt a running one."""
        record = await self.record(request_id)
        if record["status"] == COMPLETED:
            raise QueueError(
                f"Request '{request_id}' is already COMPLETED and cannot be "
                "cancelled; only IN_QUEUE and IN_PROGRESS requests can."
            )
        if await self._cancel_held(request_id):
            return
        # Not held here: another scheduler holds it, or it is not fetched
        # yet. The flag stops it from starting; the broadcast interrupts it.
        await self._guard(
            self.store.mutate(request_id, _flag_cancel),
        )
        assert self._nats is not None
        await self._nats.publish(CANCEL_SUBJECT, request_id.encode())

    async def size(self, owner: str, alias: str) -> int:
        if not (valid_token(owner) and valid_token(alias)):
            return 0
        return await self._guard(self.store.depth(owner, alias))

    async def flush(self, owner: str, alias: str) -> int:
        """Cancel every request of the app still waiting; return how many."""
        queue = self._apps.get((owner, alias))
        if queue is None:
            return 0
        waiting = list(queue.waiting)
        for item in waiting:
            await self._cancel_held(item.request_id)
        return len(waiting)

    # -- consuming -------------------------------------------------------

    async def _fetch_forever(self, subscription: Any) -> None:
        # Checks the flag too: on Python 3.11 nats-py's fetch can swallow
        # a cancellation that races its own timeout.
        while not self._closing:
            try:
                messages = await subscription.fetch(batch=256, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception:
                logger.exception("Fetching queued requests failed; retrying")
                await asyncio.sleep(1.0)
                continue
            for msg in messages:
                try:
                    await self._accept(msg)
                except Exception:
                    logger.exception("Taking a queued request failed; it stays queued")

    async def _accept(self, msg: Msg) -> None:
        meta = _parse_meta(msg)
        if meta is None:
            logger.warning("Dropping a malformed queue message on %s", msg.subject)
            await msg.term()
            return
        request_id = meta["request_id"]
        held = self._held.get(request_id)
        if held is not None:
            held.msg = msg  # redelivered while we hold it: keep the newest
            return
        found = await self.store.get(request_id)
        if found is None:
            await self.store.create(_new_record(meta))
            found = await self.store.get(request_id)
        record = found[0] if found else _new_record(meta)
        if record["status"] == COMPLETED:
            await msg.ack()  # answered before a restart: never twice
            return
        item = _Item(
            request_id,
            meta,
            msg,
            sequence=msg.metadata.sequence.stream,
            attempts=int(record.get("attempts", 0)),
        )
        self._held[request_id] = item
        if record.get("cancel_requested"):
            await self._complete(item, _cancelled(request_id), outcome="cancelled")
            return
        self._enqueue(item)

    def _enqueue(self, item: _Item) -> None:
        key = item.app
        queue = self._apps.get(key)
        if queue is None:
            queue = self._apps[key] = _AppQueue()
        if queue.dispatcher is None or queue.dispatcher.done():
            queue.dispatcher = asyncio.create_task(self._dispatch_forever(key, queue))
        queue.add(item)
        self.metrics.queue_depth.labels(*key).set(len(queue.waiting))

    async def _heartbeat_forever(self) -> None:
        """Tell JetStream that held requests are still being worked on."""
        while True:
            await asyncio.sleep(self.settings.ack_wait / 3)
            for item in list(self._held.values()):
                with contextlib.suppress(Exception):
                    await item.msg.in_progress()

    async def _sweep_forever(self) -> None:
        """Expire waiting requests past their ``X-Fal-Request-Timeout``."""
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            wall = now()
            for queue in list(self._apps.values()):
                for item in list(queue.waiting):
                    deadline = item.meta.get("deadline")
                    if deadline is not None and wall >= deadline:
                        queue.remove(item)
                        await self._expire(item)

    # -- dispatching -----------------------------------------------------

    async def _dispatch_forever(self, key: tuple[str, str], queue: _AppQueue) -> None:
        while not self._closing:
            if not queue.waiting:
                queue.changed.clear()
                await queue.changed.wait()
                continue
            try:
                await self._dispatch_one(key, queue)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Dispatching a request of %s/%s failed", *key)
                await asyncio.sleep(0.5)

    async def _dispatch_one(self, key: tuple[str, str], queue: _AppQueue) -> None:
        # Step 1: what the alias runs now.
        try:
            app = await self.registry.resolve(*key)
        except AppNotFoundError as error:
            await self._fail_waiting(queue, 404, str(error))
            return
        except RegistryUnavailableError:
            await asyncio.sleep(1.0)
            return

        # Step 2: a runner slot, the backlog counted as demand meanwhile.
        pool = self.pools.pool_for(app)
        await pool.set_backlog(len(queue.waiting) - 1, queue.oldest_since())
        hint = queue.waiting[0].meta.get("runner_hint") if queue.waiting else None
        try:
            lease = await pool.acquire(prefer=self._sticky.get((key, hint)))
        except PoolClosedError:
            self.registry.forget(*key)
            return
        except SetupFailingError as error:
            head = queue.pop()
            if head is not None:
                message = (
                    f"Application '{key[0]}/{key[1]}' failed to start: {error}. "
                    f"Next start attempt in {error.retry_in:.0f} s."
                )
                await self._complete(head, _error(503, message), outcome="error")
            return

        # Step 3: the head of the list runs on it.
        item = queue.pop()
        self.metrics.queue_depth.labels(*key).set(len(queue.waiting))
        await pool.set_backlog(len(queue.waiting), queue.oldest_since())
        if item is None:
            await pool.release(lease)
            return
        self._remember_hint(key, item, lease.runner)
        item.task = asyncio.create_task(self._run(item, app, pool, lease))

    def _remember_hint(self, key: tuple[str, str], item: _Item, runner: Runner) -> None:
        """Send later requests with the same X-Fal-Runner-Hint to this runner."""
        hint = item.meta.get("runner_hint")
        if not hint:
            return
        self._sticky.pop((key, hint), None)
        self._sticky[(key, hint)] = runner.handle.runner_id
        while len(self._sticky) > _MAX_STICKY:
            del self._sticky[next(iter(self._sticky))]

    async def _fail_waiting(self, queue: _AppQueue, status: int, message: str) -> None:
        while (item := queue.pop()) is not None:
            await self._complete(item, _error(status, message), outcome="error")

    async def _run(
        self,
        item: _Item,
        app: registry_pb2.ResolveApplicationResponse,
        pool: RunnerPool,
        lease: Lease,
    ) -> None:
        runner = lease.runner
        try:
            if not await self._mark_started(item, runner):
                return
            if lease.cold_start:
                self.metrics.cold_starts.inc()
            outcome = await self._attempt(item, app, lease)
        except asyncio.CancelledError:
            if not item.cancelled:
                raise  # shutting down: the request stays queued
            outcome = _Outcome(replace_runner=True)
        finally:
            await pool.release(lease)
        if outcome.replace_runner and not runner.handle.exited:
            self._spawn(pool.discard(runner, "replaced after a failed request"))
        if item.cancelled:
            # The handler may ignore the interruption: its runner is replaced.
            await self._complete(item, _cancelled(item.request_id), "cancelled")
            return
        await self._settle(item, app, outcome)

    async def _mark_started(self, item: _Item, runner: Runner) -> bool:
        item.runner = runner
        item.log_file = getattr(runner.handle, "log_file", None)
        item.log_offset = _file_size(item.log_file)
        attempts = item.attempts + 1

        def start(record: Record) -> Record | None:
            if record["status"] == COMPLETED or record.get("cancel_requested"):
                return None
            record.update(
                status=IN_PROGRESS,
                started_at=record.get("started_at") or now(),
                attempts=attempts,
                runner_id=runner.handle.runner_id,
            )
            return record

        updated = await self.store.mutate(item.request_id, start)
        if updated is None:
            found = await self.store.get(item.request_id)
            if found is not None and found[0]["status"] != COMPLETED:
                await self._complete(item, _cancelled(item.request_id), "cancelled")
            else:
                await self._forget(item, ack=True)
            return False
        item.attempts = attempts
        waited = max(now() - item.meta["submitted_at"], 0.0)
        self.metrics.queue_wait.labels(*item.app).observe(waited)
        return True

    async def _attempt(
        self,
        item: _Item,
        app: registry_pb2.ResolveApplicationResponse,
        lease: Lease,
    ) -> _Outcome:
        meta = item.meta
        name = f"{app.owner}/{app.alias}"
        timeout = self.settings.default_request_timeout
        if app.settings.HasField("request_timeout") and app.settings.request_timeout:
            timeout = float(app.settings.request_timeout)
        url = lease.base_url + meta["path"]
        if meta.get("query"):
            url += "?" + meta["query"]
        headers = {**meta["headers"], "x-fal-request-id": item.request_id}
        body = await self.store.body_of(meta, item.msg)
        try:
            upstream = await self._client.post(
                url, content=body, headers=headers, timeout=timeout
            )
        except httpx.TimeoutException:
            return _Outcome(
                retry_condition="timeout",
                message=f"Application '{name}' did not answer within {timeout:g} s "
                "(request_timeout).",
                replace_runner=True,
                status_code=504,
            )
        except httpx.TransportError as error:
            return _Outcome(
                retry_condition="connection_error",
                message=f"The runner of '{name}' went away while handling the "
                f"request ({type(error).__name__}).",
                replace_runner=True,
                status_code=503,
            )
        return _classify(name, upstream)

    async def _settle(
        self,
        item: _Item,
        app: registry_pb2.ResolveApplicationResponse,
        outcome: _Outcome,
    ) -> None:
        condition = outcome.retry_condition
        if condition is None:
            result = "ok" if outcome.status_code < 400 else "error"
            await self._complete(item, outcome, outcome=result)
            return
        reason = _no_retry_reason(item, app, condition, self.settings.max_retries)
        if reason is not None:
            message = f"{outcome.message} Not retried: {reason}."
            failed = _error(outcome.status_code or 503, message, outcome.headers)
            await self._complete(item, failed, outcome="error")
            return
        await self._requeue(item, condition)

    async def _requeue(self, item: _Item, condition: str) -> None:
        self.metrics.queue_retries.labels(*item.app, condition).inc()
        logger.info(
            "Retrying request %s of %s/%s (%s, attempt %d)",
            item.request_id,
            *item.app,
            condition,
            item.attempts + 1,
        )
        item.task = None
        item.runner = None
        item.log_file = None

        def back_in_queue(record: Record) -> Record | None:
            if record["status"] == COMPLETED:
                return None
            record["status"] = IN_QUEUE
            return record

        await self.store.mutate(item.request_id, back_in_queue)
        deadline = item.meta.get("deadline")
        if deadline is not None and now() >= deadline:
            await self._expire(item)
            return
        self._enqueue(item)

    # -- completing ------------------------------------------------------

    async def _complete(self, item: _Item, result: _Outcome, outcome: str) -> None:
        """Store the result once, acknowledge the message, send the webhook."""
        logs = (
            _read_logs(item.log_file, item.log_offset, item.request_id)
            if item.log_file
            else []
        )
        stored = await self.store.encode_result(item.request_id, result.body)
        finished = now()

        def finish(record: Record) -> Record | None:
            if record["status"] == COMPLETED:
                return None
            started = record.get("started_at")
            record.update(
                status=COMPLETED,
                completed_at=finished,
                logs=logs,
                metrics={"inference_time": finished - started} if started else {},
                response={"status_code": result.status_code, "headers": result.headers}
                | stored,
            )
            if result.status_code >= 400:
                record["error"] = _error_detail(result.body) or result.message
                record["error_type"] = result.headers.get("x-fal-error-type") or (
                    "RequestTimeout" if outcome == "timeout" else _error_type(outcome)
                )
            return record

        updated = await self.store.mutate(item.request_id, finish)
        await self._forget(item, ack=True)
        if item.meta.get("body_object"):
            await self.store.delete_object(f"req-{item.request_id}")
        if updated is None:
            return  # completed before: the first result stands
        self.metrics.queue_requests.labels(*item.app, outcome).inc()
        elapsed = max(finished - item.meta["submitted_at"], 0.0)
        self.metrics.queue_latency.labels(*item.app).observe(elapsed)
        if item.meta.get("webhook_url"):
            self._spawn(self._deliver_webhook(updated, result.body))

    async def _deliver_webhook(self, record: Record, body: bytes) -> None:
        """POST the result to the webhook, retrying with backoff; record the end."""
        url = record["webhook_url"]
        payload = _webhook_payload(record, body)
        attempts = self.settings.webhook_attempts
        error = ""
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client.post(
                    url, json=payload, timeout=self.settings.webhook_timeout
                )
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"
            else:
                if response.is_success:
                    await self._record_webhook(record, "delivered", attempt, "")
                    return
                error = f"the webhook answered {response.status_code}"
            if attempt < attempts:
                await asyncio.sleep(self.settings.webhook_backoff * 2 ** (attempt - 1))
        logger.warning(
            "Webhook of request %s failed after %d attempts: %s",
            record["request_id"],
            attempts,
            error,
        )
        await self._record_webhook(record, "failed", attempts, error)

    async def _record_webhook(
        self, record: Record, state: str, attempts: int, error: str
    ) -> None:
        def note(current: Record) -> Record:
            current["webhook"] = {"status": state, "attempts": attempts, "error": error}
            return current

        await self.store.mutate(record["request_id"], note)

    async def _expire(self, item: _Item) -> None:
        timeout = item.meta.get("start_timeout")
        message = (
            f"Request '{item.request_id}' did not start within {timeout:g} s "
            "(X-Fal-Request-Timeout)."
        )
        headers = {"x-fal-request-timeout-type": "user"}
        await self._complete(item, _error(504, message, headers), outcome="timeout")

    async def _forget(self, item: _Item, ack: bool) -> None:
        self._held.pop(item.request_id, None)
        if ack:
            with contextlib.suppress(Exception):
                await item.msg.ack()

    async def _cancel_held(self, request_id: str) -> bool:
        item = self._held.get(request_id)
        if item is None:
            return False
        queue = self._apps.get(item.app)
        if queue is not None and queue.remove(item):
            self.metrics.queue_depth.labels(*item.app).set(len(queue.waiting))
            await self._complete(item, _cancelled(request_id), outcome="cancelled")
            return True
        if item.task is not None and not item.task.done():
            item.cancelled = True
            item.task.cancel()
            return True
        return False

    async def _on_cancel(self, msg: Msg) -> None:
        await self._cancel_held(msg.data.decode(errors="replace"))

    async def _guard(self, operation: Any) -> Any:
        """Await a JetStream operation; failures become QueueUnavailableError."""
        try:
            return await operation
        except QueueError:
            raise
        except (nats.errors.Error, TimeoutError, OSError) as error:
            raise QueueUnavailableError(
                f"The queue's storage (NATS JetStream) failed: {error}"
            ) from error

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _webhook_payload(record: Record, body: bytes) -> dict[str, Any]:
    response = record.get("response") or {}
    ok = response.get("status_code", 500) < 400
    payload: Any
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    message: dict[str, Any] = {
        "request_id": record["request_id"],
        "gateway_request_id": record["request_id"],
        "status": "OK" if ok else "ERROR",
        "payload": payload,
    }
    if not ok:
        message["error"] = record.get("error") or "The request failed."
    return message


# -- pure helpers --------------------------------------------------------


def _meta(submission: Submission) -> Record:
    submitted = now()
    deadline = None
    if submission.start_timeout is not None:
        deadline = submitted + submission.start_timeout
    return {
        "request_id": submission.request_id,
        "owner": submission.owner,
        "alias": submission.alias,
        "path": submission.path,
        "query": submission.query,
        "headers": submission.headers,
        "priority": submission.priority,
        "start_timeout": submission.start_timeout,
        "deadline": deadline,
        "no_retry": submission.no_retry,
        "runner_hint": submission.runner_hint,
        "webhook_url": submission.webhook_url,
        "submitted_at": submitted,
    }


def _new_record(meta: Record) -> Record:
    return {
        "request_id": meta["request_id"],
        "owner": meta["owner"],
        "alias": meta["alias"],
        "path": meta["path"],
        "status": IN_QUEUE,
        "submitted_at": meta["submitted_at"],
        "attempts": 0,
        "webhook_url": meta.get("webhook_url"),
    }


def _parse_meta(msg: Msg) -> Record | None:
    try:
        meta = json.loads((msg.headers or {}).get(META_HEADER, ""))
    except ValueError:
        return None
    required = ("request_id", "owner", "alias", "path", "headers", "submitted_at")
    if not isinstance(meta, dict) or any(name not in meta for name in required):
        return None
    return meta


def _flag_cancel(record: Record) -> Record | None:
    if record["status"] == COMPLETED:
        return None
    record["cancel_requested"] = True
    return record


def _classify(name: str, upstream: httpx.Response) -> _Outcome:
    headers = {
        key: upstream.headers[key] for key in _RESULT_HEADERS if key in upstream.headers
    }
    status = upstream.status_code
    forced = upstream.headers.get("x-fal-needs-retry", "").strip().lower()
    condition: str | None = None
    replace = False
    if forced in ("1", "true", "yes"):
        condition = "server_error"
    elif forced in ("0", "false", "no"):
        condition = None
    elif status == 503:
        condition, replace = "server_error", True
    elif status == 504:
        condition = "timeout"
    elif status == 429:
        condition = "server_error"
    message = f"Application '{name}' answered {status}."
    return _Outcome(status, headers, upstream.content, condition, message, replace)


def _no_retry_reason(
    item: _Item,
    app: registry_pb2.ResolveApplicationResponse,
    condition: str,
    max_retries: int,
) -> str | None:
    if item.meta.get("no_retry"):
        return "the request was sent with X-Fal-No-Retry"
    if condition in set(app.skip_retry_conditions):
        return f"the app skips retries on {condition}"
    if item.attempts > max_retries:
        return f"it failed {item.attempts} times, the most allowed"
    return None


def _error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> _Outcome:
    body = json.dumps({"detail": message}).encode()
    merged = {"content-type": "application/json", **(headers or {})}
    return _Outcome(status, merged, body, message=message)


def _cancelled(request_id: str) -> _Outcome:
    return _error(400, f"Request '{request_id}' was cancelled.")


def _error_detail(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:1000].decode(errors="replace")
    if isinstance(parsed, dict) and "detail" in parsed:
        detail = parsed["detail"]
        return detail if isinstance(detail, str) else json.dumps(detail)
    return json.dumps(parsed)[:1000]


def _error_type(outcome: str) -> str:
    return {"cancelled": "RequestCancelled"}.get(outcome, "RequestFailed")


def _file_size(path: Path | None) -> int:
    if path is None:
        return 0
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_logs(path: Path | None, offset: int, request_id: str) -> list[dict[str, Any]]:
    """The lines ``request_id`` printed since ``offset``, as queue status logs."""
    if path is None:
        return []
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            text = log.read(_MAX_LOG_BYTES).decode(errors="replace")
    except OSError:
        return []
    timestamp = datetime.now(UTC).isoformat()
    logs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = parse_log_line(line)
        if entry is None:
            logs.append(
                {
                    "message": line,
                    "level": "INFO",
                    "source": "user",
                    "timestamp": timestamp,
                }
            )
        elif entry.get("request_id") == request_id:
            logs.append(
                {
                    "message": str(entry.get("message", "")),
                    "level": str(entry.get("level") or "INFO"),
                    "source": "user",
                    "timestamp": str(entry.get("timestamp") or timestamp),
                }
            )
    return logs
