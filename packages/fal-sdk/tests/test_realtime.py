"""Realtime endpoints served by the runtime: every mode, over a real socket."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import msgpack
import pytest
import uvicorn
from fastapi import WebSocket
from pydantic import BaseModel
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

import fal
import fal.realtime
from fal._private import realtime as realtime_internals
from fal._private.realtime import RealtimeMode, resolve_realtime_route
from fal._private.serving import build_fastapi_app
from fal_platform.testing import free_port

# Incompressible, so that permessage-deflate cannot hide a stalled client.
NOISE = os.urandom(65536)


class Prompt(BaseModel):
    text: str


class Image(BaseModel):
    text: str
    data: bytes = b""


class RealtimeApp(fal.App):
    def setup(self) -> None:
        self.batches: list[int] = []
        self.produced = 0
        self.gate = threading.Event()

    @fal.realtime("/unary")
    def unary(self, prompt: Prompt) -> Image:
        if prompt.text == "boom":
            raise ValueError("the prompt asked for an error")
        return Image(text=prompt.text.upper(), data=b"\x00\x01")

    @fal.realtime("/server")
    async def server_streaming(self, prompt: Prompt) -> AsyncIterator[Image]:
        for index in range(3):
            yield Image(text=f"{prompt.text}-{index}")

    @fal.realtime("/client")
    async def client_streaming(self, prompts: AsyncIterator[Prompt]) -> Image:
        texts = []
        async for prompt in prompts:
            if prompt.text == "done":
                break
            texts.append(prompt.text)
        return Image(text="+".join(texts))

    @fal.realtime("/gated")
    async def gated(self, prompts: AsyncIterator[Prompt]) -> Image:
        texts = [prompt.text async for prompt in prompts]
        # Held open until the test lets it answer.
        await asyncio.to_thread(self.gate.wait, 10)
        return Image(text="+".join(texts))

    @fal.realtime("/bidi")
    def bidirectional(self, prompts: Iterator[Prompt]) -> Iterator[Image]:
        for prompt in prompts:
            yield Image(text=prompt.text[::-1])

    @fal.realtime("/batched", max_batch_size=4, buffering=8)
    def batched(self, prompts: list[Prompt]) -> list[Image]:
        time.sleep(0.2)
        self.batches.append(len(prompts))
        return [Image(text=p.text) for p in prompts]

    @fal.realtime("/timeout", session_timeout=0.5)
    def with_timeout(self, prompt: Prompt) -> Image:
        return Image(text=prompt.text)

    @fal.realtime("/flood", buffering=2)
    async def flood(self, prompt: Prompt) -> AsyncIterator[Image]:
        while True:
            self.produced += 1
            yield Image(text=prompt.text, data=NOISE)

    @fal.realtime(
        "/json",
        content_type="application/json",
        encode_message=lambda message: __import__("json").dumps(message),
        decode_message=lambda message: __import__("json").loads(message),
    )
    def json_frames(self, prompt: Prompt) -> Prompt:
        return prompt

    @fal.endpoint("/echo", is_websocket=True)
    async def echo(self, websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            message = await websocket.receive_text()
            await websocket.send_text(f"echo: {message}")


class Served:
    def __init__(self, port: int, instance: RealtimeApp) -> None:
        self.port = port
        self.instance = instance

    def connect(self, path: str) -> ClientConnection:
        return connect(f"ws://127.0.0.1:{self.port}{path}", open_timeout=10)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    instance = RealtimeApp(_allow_init=True)
    instance.setup()
    port = free_port()
    config = uvicorn.Config(
        build_fastapi_app(instance), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield Served(port, instance)
    finally:
        server.should_exit = True
        thread.join(10)


def pack(message: Any) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def receive(connection: ClientConnection) -> Any:
    return msgpack.unpackb(connection.recv(timeout=10), raw=False)


def test_unary_frame_round_trips_as_msgpack(served: Served) -> None:
    with served.connect("/unary") as connection:
        connection.send(pack({"text": "hi"}))
        first = receive(connection)
        connection.send(pack({"text": "again"}))
        second = receive(connection)

    assert first == {"text": "HI", "data": b"\x00\x01"}
    assert second["text"] == "AGAIN"


def test_server_streaming_sends_every_item(served: Served) -> None:
    with served.connect("/server") as connection:
        connection.send(pack({"text": "a"}))
        frames = [receive(connection) for _ in range(3)]

    assert [frame["text"] for frame in frames] == ["a-0", "a-1", "a-2"]


def test_client_streaming_answers_once_then_closes(served: Served) -> None:
    with served.connect("/client") as connection:
        for text in ("x", "y", "done"):
            connection.send(pack({"text": text}))
        result = receive(connection)
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)

    assert result["text"] == "x+y"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000


def test_end_of_input_frame_gets_the_client_streaming_result(
    served: Served,
) -> None:
    served.instance.gate.set()
    with served.connect("/gated") as connection:
        for text in ("x", "y"):
            connection.send(pack({"text": text}))
        connection.send(pack({"type": "x-fal-end-of-input"}))
        result = receive(connection)
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)

    assert result["text"] == "x+y"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000


def test_end_of_input_answers_held_inputs_then_closes(served: Served) -> None:
    with served.connect("/unary") as connection:
        for text in ("a", "b", "c"):
            connection.send(pack({"text": text}))
        connection.send(pack({"type": "x-fal-end-of-input"}))
        replies = [receive(connection)["text"] for _ in range(3)]
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)

    assert replies == ["A", "B", "C"]
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000


def test_frame_after_end_of_input_gets_error_frame(served: Served) -> None:
    served.instance.gate.clear()
    with served.connect("/gated") as connection:
        connection.send(pack({"text": "only"}))
        connection.send(pack({"type": "x-fal-end-of-input"}))
        connection.send(pack({"text": "late"}))
        error = receive(connection)
        served.instance.gate.set()
        result = receive(connection)

    assert error["type"] == "x-fal-error"
    assert error["error"] == "INPUT_ENDED"
    assert "x-fal-end-of-input" in error["reason"]
    assert result["text"] == "only"


def test_bidirectional_sync_handler_answers_each_input(served: Served) -> None:
    with served.connect("/bidi") as connection:
        replies = []
        for text in ("abc", "xyz"):
            connection.send(pack({"text": text}))
            replies.append(receive(connection)["text"])

    assert replies == ["cba", "zyx"]


def test_consecutive_inputs_are_batched_up_to_max_batch_size(served: Served) -> None:
    served.instance.batches.clear()
    with served.connect("/batched") as connection:
        for index in range(6):
            connection.send(pack({"text": str(index)}))
        texts = [receive(connection)["text"] for _ in range(6)]

    assert texts == [str(index) for index in range(6)]
    assert max(served.instance.batches) > 1
    assert max(served.instance.batches) <= 4
    assert sum(served.instance.batches) == 6


def test_invalid_msgpack_gets_error_frame_and_session_stays_open(
    served: Served,
) -> None:
    with served.connect("/unary") as connection:
        connection.send(b"\xc1 not msgpack")
        error = receive(connection)
        connection.send(pack({"text": "ok"}))
        after = receive(connection)

    assert error["type"] == "x-fal-error"
    assert error["error"] == "INVALID_MESSAGE"
    assert "application/msgpack" in error["reason"]
    assert after["text"] == "OK"


def test_input_failing_the_model_gets_error_naming_the_field(served: Served) -> None:
    with served.connect("/unary") as connection:
        connection.send(pack({"prompt": "wrong field"}))
        error = receive(connection)
        connection.send(pack({"text": "ok"}))
        after = receive(connection)

    assert error["error"] == "INVALID_INPUT"
    assert "text: Field required" in error["reason"]
    assert after["text"] == "OK"


def test_handler_error_becomes_error_frame_without_closing(served: Served) -> None:
    with served.connect("/unary") as connection:
        connection.send(pack({"text": "boom"}))
        error = receive(connection)
        connection.send(pack({"text": "fine"}))
        after = receive(connection)

    assert error == {
        "type": "x-fal-error",
        "error": "HANDLER_ERROR",
        "reason": "ValueError: the prompt asked for an error",
    }
    assert after["text"] == "FINE"


def test_silent_session_times_out_with_error_frame(served: Served) -> None:
    with served.connect("/timeout") as connection:
        connection.send(pack({"text": "one"}))
        answer = receive(connection)
        error = receive(connection)
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)

    assert answer["text"] == "one"
    assert error["error"] == "TIMEOUT"
    assert "session_timeout" in error["reason"]
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.reason == "session timeout"


def test_client_that_stops_reading_is_dropped_with_bounded_output(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realtime_internals, "SEND_TIMEOUT_SECONDS", 0.3)
    served.instance.produced = 0
    url = f"ws://127.0.0.1:{served.port}/flood"

    with connect(url, max_queue=1, open_timeout=10) as connection:
        connection.send(pack({"text": "x"}))
        # Read nothing until the handler is blocked and the runner gave up.
        assert wait_for(lambda: _stable(lambda: served.instance.produced, 1.0))
        frames = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                connection.recv(timeout=10)
                frames += 1

    # Frames of 64 KiB: socket buffers hold a few MiB, never an endless stream.
    assert 0 < frames <= served.instance.produced < 2000
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert "stopped reading" in closed.value.rcvd.reason


def test_custom_codec_sends_text_frames(served: Served) -> None:
    with served.connect("/json") as connection:
        connection.send('{"text": "plain"}')
        reply = connection.recv(timeout=10)

    assert reply == '{"text": "plain"}'


def test_websocket_endpoint_echoes(served: Served) -> None:
    with served.connect("/echo") as connection:
        connection.send("hello")
        reply = connection.recv(timeout=10)

    assert reply == "echo: hello"


def test_openapi_lists_websocket_and_realtime_endpoints() -> None:
    document = RealtimeApp.openapi()

    unary = document["paths"]["/unary"]["x-fal-websocket"]
    echo = document["paths"]["/echo"]["x-fal-websocket"]
    assert unary["realtime"] is True
    assert unary["mode"] == "unary"
    assert unary["content_type"] == "application/msgpack"
    assert unary["input"] == {"$ref": "#/components/schemas/Prompt"}
    assert "Image" in document["components"]["schemas"]
    assert echo == {"name": "echo", "realtime": False}
    assert document["paths"]["/batched"]["x-fal-websocket"]["max_batch_size"] == 4


@pytest.mark.parametrize(
    ("path", "mode"),
    [
        ("/unary", RealtimeMode.UNARY),
        ("/server", RealtimeMode.SERVER_STREAMING),
        ("/client", RealtimeMode.CLIENT_STREAMING),
        ("/bidi", RealtimeMode.BIDIRECTIONAL),
        ("/batched", RealtimeMode.UNARY),
    ],
)
def test_mode_is_inferred_from_type_hints(path: str, mode: str) -> None:
    routes = {s.path: (s, f) for s, f in RealtimeApp.route_functions().items()}
    signature, function = routes[path]

    route = resolve_realtime_route(signature, function)

    assert route.mode == mode
    assert route.input_model is Prompt


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"buffering": 0}, "buffering is 0"),
        ({"session_timeout": 0}, "session_timeout is 0"),
        ({"max_batch_size": 0}, "max_batch_size is 0"),
    ],
)
def test_bad_realtime_option_is_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fal.realtime("/x", **options)


def test_realtime_path_without_slash_is_rejected() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        fal.realtime.realtime("x")


def test_msgpack_codec_round_trips_models_and_bytes() -> None:
    encoded = fal.realtime.msgpack_encode_message(Image(text="a", data=b"\xff"))

    assert fal.realtime.msgpack_decode_message(encoded) == {
        "text": "a",
        "data": b"\xff",
    }


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _stable(read: Callable[[], int], seconds: float = 0.3) -> bool:
    before = read()
    time.sleep(seconds)
    return before > 0 and read() == before


def test_realtime_decorator_keeps_the_function() -> None:
    async def handler(self: Any, prompt: Prompt) -> Prompt:
        return prompt

    decorated = fal.realtime("/r")(handler)

    assert decorated is handler
    assert asyncio.iscoroutinefunction(decorated)
