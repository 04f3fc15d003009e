"""The queue's durable state in NATS JetStream, and its wire format.

Three JetStream objects hold everything a scheduler restart must not lose:

- stream ``FAL_REQUESTS`` (work-queue retention, file storage): one message
  per accepted request on ``fal.queue.requests.<owner>.<alias>``. Headers
  carry the request's metadata as JSON (``Fal-Request``); the payload is the
  body, or empty when the body lives in the object store. A message is
  acknowledged (and so removed) only after its result is stored.
- key-value bucket ``fal_requests``: one record per request id, the status
  clients poll and, once ``COMPLETED``, the result. Records expire after the
  configured retention. Every change is a compare-and-set on the record's
  revision, so a result is written once even if two deliveries race.
- object store ``fal_payloads``: bodies and results too large for a NATS
  message (``req-<id>``, ``res-<id>``), with the same retention.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

__all__ = [
    "CONSUMER",
    "META_HEADER",
    "STREAM",
    "QueueStore",
    "Record",
    "subject_for",
]

STREAM = "FAL_REQUESTS"
SUBJECT_PREFIX = "fal.queue.requests"
BUCKET = "fal_requests"
OBJECTS = "fal_payloads"
CONSUMER = "fal-scheduler-dispatch"
META_HEADER = "Fal-Request"
# Larger bodies and results go to the object store: a NATS message (and so a
# KV value) is limited by the server's max_payload, 1 MiB by default.
INLINE_LIMIT = 256 * 1024
_CAS_ATTEMPTS = 20

Record = dict[str, Any]


def subject_for(owner: str, alias: str) -> str:
    return f"{SUBJECT_PREFIX}.{owner}.{alias}"


def valid_token(name: str) -> bool:
    """Whether ``name`` can be one token of a NATS subject."""
    return bool(name) and not any(c in name for c in ".*> \t\r\n")


@dataclass(frozen=True)
class StoreSettings:
    result_retention: float = 24 * 3600.0
    ack_wait: float = 30.0
    max_ack_pending: int = 20000


class QueueStore:
    """Stream, records and payloads of the queue; knows nothing of runners."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self._nats: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self._objects: ObjectStore | None = None

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "QueueStore.connect() was not called"
        return self._js

    @property
    def kv(self) -> KeyValue:
        assert self._kv is not None, "QueueStore.connect() was not called"
        return self._kv

    async def connect(self, nats: NatsClient) -> None:
        """Create (or reuse) the stream, bucket and object store."""
        self._nats = nats
        self._js = nats.jetstream()
        retention = self.settings.result_retention
        await self._ensure_stream()
        self._kv = await self._ensure_kv(retention)
        self._objects = await self._ensure_objects(retention)

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        config = api.ConsumerConfig(
            durable_name=CONSUMER,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self.settings.ack_wait,
            max_deliver=-1,
            max_ack_pending=self.settings.max_ack_pending,
        )
        return await self.js.pull_subscribe(
            f"{SUBJECT_PREFIX}.>", durable=CONSUMER, stream=STREAM, config=config
        )

    # -- requests --------------------------------------------------------

    async def publish(self, meta: Record, body: bytes) -> int:
        """Store an accepted request durably; return its stream sequence."""
        payload = body
        if len(body) > INLINE_LIMIT:
            await self.put_object(f"req-{meta['request_id']}", body)
            meta = {**meta, "body_object": True}
            payload = b""
        ack = await self.js.publish(
            subject_for(meta["owner"], meta["alias"]),
            payload,
            stream=STREAM,
            headers={
                META_HEADER: json.dumps(meta),
                "Nats-Msg-Id": meta["request_id"],
            },
        )
        return int(ack.seq)

    async def body_of(self, meta: Record, msg: Msg) -> bytes:
        if meta.get("body_object"):
            return await self.get_object(f"req-{meta['request_id']}")
        return bytes(msg.data)

    async def depth(self, owner: str, alias: str) -> int:
        """Requests of one app in the stream: queued or running."""
        subject = subject_for(owner, alias)
        info = await self.js.stream_info(STREAM, subjects_filter=subject)
        return int((info.state.subjects or {}).get(subject, 0))

    # -- records ---------------------------------------------------------

    async def get(self, request_id: str) -> tuple[Record, int] | None:
        try:
            entry = await self.kv.get(request_id)
        except (KeyNotFoundError, NotFoundError):
            return None
        if entry.value is None:
            return None
        return json.loads(entry.value), int(entry.revision or 0)

    async def create(self, record: Record) -> bool:
        """Store a new record; False when one exists already."""
        try:
            await self.kv.create(record["request_id"], _encode(record))
        except KeyWrongLastSequenceError:
            return False
        return True

    async def mutate(
        self, request_id: str, change: Callable[[Record], Record | None]
    ) -> Record | None:
        """Apply ``change`` to a record by compare-and-set; None: unchanged.

        ``change`` gets a copy and returns the new record, or None to leave
        it as it is (for instance when it is already COMPLETED).
        """
        for _ in range(_CAS_ATTEMPTS):
            found = await self.get(request_id)
            if found is None:
                return None
            record, revision = found
            updated = change(dict(record))
            if updated is None:
                return None
            try:
                await self.kv.update(request_id, _encode(updated), last=revision)
            except KeyWrongLastSequenceError:
                await asyncio.sleep(0.01)
                continue
            return updated
        raise RuntimeError(f"record {request_id} kept changing; gave up updating it")

    # -- payloads --------------------------------------------------------

    async def put_object(self, name: str, data: bytes) -> None:
        assert self._objects is not None
        await self._objects.put(name, data)

    async def get_object(self, name: str) -> bytes:
        assert self._objects is not None
        result = await self._objects.get(name)
        return bytes(result.data or b"")

    async def delete_object(self, name: str) -> None:
        assert self._objects is not None
        with contextlib.suppress(NotFoundError, KeyNotFoundError):
            await self._objects.delete(name)

    async def encode_result(self, request_id: str, body: bytes) -> Record:
        """The record fields holding a result body, inline or as an object."""
        if len(body) > INLINE_LIMIT:
            await self.put_object(f"res-{request_id}", body)
            return {"body_object": True}
        return {"body_b64": base64.b64encode(body).decode()}

    async def result_body(self, record: Record) -> bytes:
        response = record.get("response") or {}
        if response.get("body_object"):
            return await self.get_object(f"res-{record['request_id']}")
        return base64.b64decode(response.get("body_b64") or "")

    # -- setup -----------------------------------------------------------

    async def _ensure_stream(self) -> None:
        config = api.StreamConfig(
            name=STREAM,
            subjects=[f"{SUBJECT_PREFIX}.>"],
            retention=api.RetentionPolicy.WORK_QUEUE,
            storage=api.StorageType.FILE,
            duplicate_window=120.0,
        )
        try:
            await self.js.stream_info(STREAM)
        except NotFoundError:
            await self.js.add_stream(config)

    async def _ensure_kv(self, retention: float) -> KeyValue:
        try:
            return await self.js.key_value(BUCKET)
        except Exception as error:
            if not _is_missing(error):
                raise
        return await self.js.create_key_value(
            api.KeyValueConfig(
                bucket=BUCKET,
                history=1,
                ttl=retention,
                storage=api.StorageType.FILE,
            )
        )

    async def _ensure_objects(self, retention: float) -> ObjectStore:
        try:
            return await self.js.object_store(OBJECTS)
        except Exception as error:
            if not _is_missing(error):
                raise
        return await self.js.create_object_store(
            OBJECTS,
            config=api.ObjectStoreConfig(ttl=retention, storage=api.StorageType.FILE),
        )


def _is_missing(error: Exception) -> bool:
    from nats.js.errors import BucketNotFoundError

    return isinstance(error, BucketNotFoundError | NotFoundError)


def _encode(record: Record) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


def now() -> float:
    """Wall-clock seconds: records outlive the process, monotonic time does not."""
    return time.time()
