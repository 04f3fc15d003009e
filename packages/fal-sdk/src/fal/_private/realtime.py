"""Realtime endpoints: msgpack frames over a websocket, served session by session.

``realtime(path, ...)`` marks an App method as a websocket route whose frames
the runtime decodes (msgpack by default), validates against the input model,
holds in a bounded buffer, batches, and hands to the method. What the method
returns is encoded and sent back as frames.

The mode comes from the method's type hints:

- unary: ``(self, input: In) -> Out``: one output frame per input frame;
- server streaming: ``(self, input: In) -> Iterator[Out]`` (or a generator):
  several output frames per input frame;
- client streaming: ``(self, inputs: AsyncIterator[In]) -> Out``: the method
  runs once for the session and its one result ends it;
- bidirectional: ``(self, inputs: AsyncIterator[In]) -> AsyncIterator[Out]``.

Problems are sent as error frames ``{"type": "x-fal-error", "error": CODE,
"reason": sentence}`` and, except for the session timeout and a client that
stopped reading, the session stays open.

A client ends its input with the frame ``{"type": "x-fal-end-of-input"}``
(encoded like any other frame): the inputs already sent are handled, their
outputs sent, and the session closes normally. That is how a client of a
client-streaming endpoint asks for its one result.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextlib
import inspect
import logging
import typing
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import msgpack
import pydantic
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from fal._private.app import ROUTE_ATTRIBUTE, RouteSignature

__all__ = [
    "END_OF_INPUT_FRAME_TYPE",
    "ERROR_FRAME_TYPE",
    "RealtimeMode",
    "msgpack_decode_message",
    "msgpack_encode_message",
    "realtime",
    "serve_realtime_session",
]

logger = logging.getLogger(__name__)

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])

MSGPACK_CONTENT_TYPE = "application/msgpack"
ERROR_FRAME_TYPE = "x-fal-error"
END_OF_INPUT_FRAME_TYPE = "x-fal-end-of-input"
# Inputs held when the endpoint sets no ``buffering``.
DEFAULT_BUFFERING = 16
# How long one outgoing frame may wait for a client that does not read
# before the session is given up; the runner's memory stays bounded.
SEND_TIMEOUT_SECONDS = 30.0
# How long the close frame may wait for such a client to read what it holds.
CLOSE_TIMEOUT_SECONDS = 10.0
# Websocket close codes (RFC 6455).
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011

_UNSET: Any = object()
_STREAM_ORIGINS = (
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.Generator,
    collections.abc.AsyncGenerator,
)


class RealtimeMode:
    UNARY = "unary"
    SERVER_STREAMING = "server_streaming"
    CLIENT_STREAMING = "client_streaming"
    BIDIRECTIONAL = "bidirectional"


def msgpack_encode_message(message: Any) -> bytes:
    """Encode one realtime frame as msgpack (pydantic models as their fields)."""
    packed: bytes = msgpack.packb(message, use_bin_type=True, default=_plain)
    return packed


def msgpack_decode_message(message: bytes | str) -> Any:
    """Decode one msgpack realtime frame."""
    if isinstance(message, str):
        message = message.encode()
    return msgpack.unpackb(message, raw=False)


def realtime(
    path: str,
    *,
    buffering: int | None = None,
    session_timeout: float | None = None,
    input_modal: Any = _UNSET,
    output_modal: Any = _UNSET,
    max_batch_size: int = 1,
    content_type: str = MSGPACK_CONTENT_TYPE,
    encode_message: Callable[[Any], bytes | str] | None = None,
    decode_message: Callable[[bytes | str], Any] | None = None,
) -> Callable[[EndpointT], EndpointT]:
    """Serve an App method as a realtime websocket endpoint at ``path``."""
    _check_options(path, buffering, session_timeout, max_batch_size)

    def mark(function: EndpointT) -> EndpointT:
        signature = RouteSignature(
            path,
            is_websocket=True,
            is_realtime=True,
            buffering=buffering,
            session_timeout=session_timeout,
            input_modal=None if input_modal is _UNSET else input_modal,
            output_modal=None if output_modal is _UNSET else output_modal,
            max_batch_size=max_batch_size,
            content_type=content_type,
            encode_message=encode_message,
            decode_message=decode_message,
        )
        setattr(function, ROUTE_ATTRIBUTE, signature)
        return function

    return mark


def _check_options(
    path: str,
    buffering: int | None,
    session_timeout: float | None,
    max_batch_size: int,
) -> None:
    if not path.startswith("/"):
        raise ValueError(f"Realtime path {path!r} must start with '/'.")
    if buffering is not None and buffering < 1:
        raise ValueError(f"buffering is {buffering}; hold at least 1 input.")
    if session_timeout is not None and session_timeout <= 0:
        raise ValueError(f"session_timeout is {session_timeout}; use seconds > 0.")
    if max_batch_size < 1:
        raise ValueError(f"max_batch_size is {max_batch_size}; use 1 or more.")


@dataclass(frozen=True)
class RealtimeRoute:
    """A realtime endpoint resolved against its method's type hints."""

    signature: RouteSignature
    function: Callable[..., Any]
    mode: str
    input_model: Any
    output_model: Any

    @property
    def capacity(self) -> int:
        return self.signature.buffering or DEFAULT_BUFFERING

    def encode(self, message: Any) -> bytes | str:
        encoder = self.signature.encode_message or msgpack_encode_message
        return encoder(message)

    def decode(self, message: bytes | str) -> Any:
        decoder = self.signature.decode_message or msgpack_decode_message
        return decoder(message)


def resolve_realtime_route(
    signature: RouteSignature, function: Callable[..., Any]
) -> RealtimeRoute:
    """Infer the mode and the models of a realtime method from its hints."""
    hints = typing.get_type_hints(function)
    parameters = [
        p for p in inspect.signature(function).parameters.values() if p.name != "self"
    ]
    if len(parameters) != 1:
        name = getattr(function, "__name__", signature.path)
        raise TypeError(
            f"Realtime endpoint {name} takes {len(parameters)} parameters; it "
            "must take exactly one (the input, or an iterator of inputs)."
        )
    input_hint = hints.get(parameters[0].name, Any)
    output_hint = hints.get("return", Any)
    streams_in = _is_stream(input_hint)
    streams_out = _is_stream(output_hint) or _is_generator_function(function)
    mode = _mode(streams_in, streams_out)

    # A batched method takes and returns lists; frames carry single items.
    batched = signature.max_batch_size > 1 and not streams_in
    input_model = signature.input_modal or _element(input_hint, streams_in or batched)
    output_model = signature.output_modal or _element(
        output_hint, streams_out or (batched and _is_list(output_hint))
    )
    return RealtimeRoute(signature, function, mode, input_model, output_model)


def realtime_mode_of(signature: RouteSignature, function: Callable[..., Any]) -> str:
    return resolve_realtime_route(signature, function).mode


def _mode(streams_in: bool, streams_out: bool) -> str:
    if streams_in and streams_out:
        return RealtimeMode.BIDIRECTIONAL
    if streams_in:
        return RealtimeMode.CLIENT_STREAMING
    if streams_out:
        return RealtimeMode.SERVER_STREAMING
    return RealtimeMode.UNARY


def _is_stream(hint: Any) -> bool:
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and origin in _STREAM_ORIGINS


def _is_list(hint: Any) -> bool:
    return typing.get_origin(hint) in (list, tuple, collections.abc.Sequence)


def _is_generator_function(function: Callable[..., Any]) -> bool:
    return inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)


def _element(hint: Any, unwrap: bool) -> Any:
    """The item type of ``Iterator[X]``/``list[X]`` when ``unwrap``, else ``hint``."""
    if not unwrap:
        return hint
    arguments = typing.get_args(hint)
    return arguments[0] if arguments else Any


def _plain(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump()
    raise TypeError(f"Cannot encode {type(value).__name__} as msgpack.")


class _ClientStalled(Exception):
    """A frame could not be sent within SEND_TIMEOUT_SECONDS."""


class _SessionEnded(Exception):
    """The client went away or the session was closed."""


_END = object()


async def serve_realtime_session(websocket: WebSocket, route: RealtimeRoute) -> None:
    """Serve one websocket session of a realtime endpoint until it ends."""
    await websocket.accept()
    session = _Session(websocket, route)
    await session.run()


class _Session:
    """One client's realtime session: a reader, a processor, one send lock."""

    def __init__(self, websocket: WebSocket, route: RealtimeRoute) -> None:
        self.websocket = websocket
        self.route = route
        self.inputs: asyncio.Queue[Any] = asyncio.Queue(route.capacity)
        self.send_lock = asyncio.Lock()
        self.close_code = CLOSE_NORMAL
        self.close_reason = ""
        self.input_adapter = pydantic.TypeAdapter(route.input_model)
        self.output_adapter = pydantic.TypeAdapter(route.output_model)

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        processor = asyncio.create_task(self._process())

        # Either side may end the session: the client (disconnect, timeout)
        # or the handler (a client-streaming method returned).
        await asyncio.wait({reader, processor}, return_when=asyncio.FIRST_COMPLETED)
        for task in (reader, processor):
            task.cancel()
        results = await asyncio.gather(reader, processor, return_exceptions=True)
        self._note_failures(results)
        await self._close()

    def _note_failures(self, results: Iterable[Any]) -> None:
        for result in results:
            if isinstance(result, _ClientStalled):
                self.close_code = CLOSE_POLICY
                self.close_reason = str(result)
                logger.warning("Realtime session ended: %s", result)
            elif isinstance(result, Exception) and not isinstance(
                result, _SessionEnded | WebSocketDisconnect
            ):
                logger.error(
                    "Realtime session failed", exc_info=(type(result), result, None)
                )
                self.close_code = CLOSE_INTERNAL
                self.close_reason = f"{type(result).__name__}: {result}"[:120]

    async def _close(self) -> None:
        if self.websocket.application_state == WebSocketState.DISCONNECTED:
            return
        if self.websocket.client_state == WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.websocket.close(self.close_code, self.close_reason[:120]),
                CLOSE_TIMEOUT_SECONDS,
            )

    # Reading: decode, validate, hold at most ``capacity`` inputs.

    async def _read(self) -> None:
        try:
            while True:
                message = await self._receive()
                if message is None:
                    return
                if not await self._accept_input(message):
                    # End of input: handle what is held, refuse the rest.
                    await self.inputs.put(_END)
                    await self._refuse_inputs()
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                self.inputs.put_nowait(_END)

    async def _receive(self) -> bytes | str | None:
        timeout = self.route.signature.session_timeout
        try:
            message = await asyncio.wait_for(self.websocket.receive(), timeout)
        except TimeoutError:
            await self._timed_out(timeout)
            return None
        if message["type"] == "websocket.disconnect":
            raise _SessionEnded()
        data: bytes | str | None = message.get("bytes")
        if data is None:
            data = message.get("text", "")
        return data

    async def _timed_out(self, timeout: float | None) -> None:
        reason = (
            f"No input received for {timeout:g} s (session_timeout); "
            "the session is closed."
        )
        await self.send_error("TIMEOUT", reason)
        self.close_code = CLOSE_NORMAL
        self.close_reason = "session timeout"

    async def _refuse_inputs(self) -> None:
        """After the end of input: answer frames with an error until the end.

        The session lasts until the handler is done (the processor ends it)
        or the client leaves; session_timeout no longer applies.
        """
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise _SessionEnded()
            await self.send_error(
                "INPUT_ENDED",
                f"The input of this session already ended "
                f"({END_OF_INPUT_FRAME_TYPE}); no further frames are taken.",
            )

    async def _accept_input(self, message: bytes | str) -> bool:
        """Queue one input frame; False for the end-of-input frame."""
        try:
            decoded = self.route.decode(message)
        except Exception as error:
            await self.send_error(
                "INVALID_MESSAGE",
                f"The frame could not be decoded as {self._content_type()}: "
                f"{type(error).__name__}: {error}",
            )
            return True
        if _is_end_of_input(decoded):
            return False
        try:
            value = self.input_adapter.validate_python(decoded)
        except pydantic.ValidationError as error:
            await self.send_error("INVALID_INPUT", _validation_reason(error))
            return True
        await self.inputs.put(value)
        return True

    def _content_type(self) -> str:
        return self.route.signature.content_type or MSGPACK_CONTENT_TYPE

    # Processing: one handler call per batch, or one per session.

    async def _process(self) -> None:
        if self.route.mode in (RealtimeMode.UNARY, RealtimeMode.SERVER_STREAMING):
            while True:
                batch = await self._next_batch()
                if not batch:
                    return
                await self._handle_batch(batch)
        else:
            await self._handle_session()

    async def _next_batch(self) -> list[Any]:
        first = await self.inputs.get()
        if first is _END:
            return []
        batch = [first]
        while len(batch) < self.route.signature.max_batch_size:
            try:
                item = self.inputs.get_nowait()
            except asyncio.QueueEmpty:
                break
            if item is _END:
                self.inputs.put_nowait(_END)
                break
            batch.append(item)
        return batch

    async def _handle_batch(self, batch: list[Any]) -> None:
        argument = batch if self.route.signature.max_batch_size > 1 else batch[0]
        try:
            if self.route.mode == RealtimeMode.UNARY:
                result = await _call(self.route.function, argument)
                await self._send_result(result, batched=argument is batch)
            else:
                async for item in _iterate(self.route.function(argument)):
                    await self.send_output(item)
        except (_ClientStalled, _SessionEnded, asyncio.CancelledError):
            raise
        except Exception as error:
            await self._handler_failed(error)

    async def _send_result(self, result: Any, batched: bool) -> None:
        if batched and isinstance(result, list | tuple):
            for item in result:
                await self.send_output(item)
        else:
            await self.send_output(result)

    async def _handle_session(self) -> None:
        function = self.route.function
        inputs: Any
        if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(
            function
        ):
            inputs = self._async_inputs()
        else:
            inputs = _ThreadInputs(self.inputs, asyncio.get_running_loop())
        try:
            if self.route.mode == RealtimeMode.CLIENT_STREAMING:
                await self.send_output(await _call(function, inputs))
            else:
                async for item in _iterate(function(inputs)):
                    await self.send_output(item)
        except (_ClientStalled, _SessionEnded, asyncio.CancelledError):
            raise
        except Exception as error:
            await self._handler_failed(error)

    async def _async_inputs(self) -> AsyncIterator[Any]:
        while True:
            item = await self.inputs.get()
            if item is _END:
                self.inputs.put_nowait(_END)
                return
            yield item

    async def _handler_failed(self, error: Exception) -> None:
        logger.exception("Realtime endpoint %s raised", self.route.signature.path)
        await self.send_error("HANDLER_ERROR", f"{type(error).__name__}: {error}")

    # Sending: one frame at a time, never waiting forever on the client.

    async def send_output(self, output: Any) -> None:
        plain = self.output_adapter.dump_python(output)
        await self._send(self.route.encode(plain))

    async def send_error(self, error: str, reason: str) -> None:
        frame = {"type": ERROR_FRAME_TYPE, "error": error, "reason": reason}
        await self._send(self.route.encode(frame))

    async def _send(self, frame: bytes | str) -> None:
        async with self.send_lock:
            if isinstance(frame, str):
                sending = self.websocket.send_text(frame)
            else:
                sending = self.websocket.send_bytes(frame)
            try:
                await asyncio.wait_for(sending, SEND_TIMEOUT_SECONDS)
            except TimeoutError:
                raise _ClientStalled(
                    f"The client stopped reading: a frame waited more than "
                    f"{SEND_TIMEOUT_SECONDS:g} s to be sent."
                ) from None
            except (WebSocketDisconnect, RuntimeError, OSError) as error:
                raise _SessionEnded() from error


class _ThreadInputs:
    """The session's inputs as a blocking iterator for a sync handler."""

    def __init__(self, queue: asyncio.Queue[Any], loop: asyncio.AbstractEventLoop):
        self.queue = queue
        self.loop = loop
        self.done = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.done:
            raise StopIteration
        item = asyncio.run_coroutine_threadsafe(self.queue.get(), self.loop).result()
        if item is _END:
            self.done = True
            self.loop.call_soon_threadsafe(self.queue.put_nowait, _END)
            raise StopIteration
        return item


async def _call(function: Callable[..., Any], argument: Any) -> Any:
    if inspect.iscoroutinefunction(function):
        return await function(argument)
    result = await asyncio.to_thread(function, argument)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _iterate(produced: Any) -> AsyncIterator[Any]:
    """Items of a sync or async iterable (sync ones advanced on a thread)."""
    if inspect.isawaitable(produced):
        produced = await produced
    if isinstance(produced, collections.abc.AsyncIterable):
        async for item in produced:
            yield item
        return
    iterator = iter(produced)
    done = object()
    try:
        while (item := await asyncio.to_thread(next, iterator, done)) is not done:
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _is_end_of_input(decoded: Any) -> bool:
    return (
        isinstance(decoded, dict)
        and decoded.get("type") == END_OF_INPUT_FRAME_TYPE
        and len(decoded) == 1
    )


def _validation_reason(error: pydantic.ValidationError) -> str:
    problems = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"]) or "input"
        problems.append(f"{location}: {problem['msg']}")
    return "The input is invalid: " + "; ".join(problems) + "."
