"""Streams and websockets through a real gateway to real `fal._runtime` runners.

No `from __future__ import annotations` here: the App below is pickled by
value and its endpoint annotations must be objects, not names.
"""

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cloudpickle
import httpx
import msgpack
import pytest
import uvicorn
import websockets
from fastapi import WebSocket
from pydantic import BaseModel
from scheduler_helpers import INTERNAL_TOKEN, OTHER_KEY, OWNER_KEY, FakeRegistry
from scheduler_helpers import ThisInterpreter as _ThisInterpreter
from websockets.exceptions import InvalidStatus

import fal
import fal.apps
from fal_platform.testing import NatsServer, free_port
from fal_proto import registry_pb2
from fal_scheduler.environments import EnvironmentBuilder
from fal_scheduler.pipconfig import IndexSettings
from fal_scheduler.pools import PoolDefaults
from fal_scheduler.service import Scheduler, SchedulerConfig


def streaming_payload(markers: Path) -> bytes:
    # Defined locally so that cloudpickle serializes the classes by value.
    class Prompt(BaseModel):
        text: str

    class Streamer(fal.App):
        @fal.endpoint("/")
        async def generate(self, prompt: Prompt) -> AsyncIterator[dict]:
            yield {"token": "first"}
            # The test creates this file only after it saw the first event.
            while not (markers / "first-seen").exists():
                await asyncio.sleep(0.02)
            yield {"token": "last"}

        @fal.endpoint("/forever")
        async def forever(self, prompt: Prompt) -> AsyncIterator[dict]:
            try:
                yield {"token": "started"}
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                (markers / "cancelled").write_text(prompt.text)
                raise

        @fal.endpoint("/ws", is_websocket=True)
        async def echo(self, websocket: WebSocket) -> None:
            await websocket.accept()
            while True:
                await websocket.send_text("echo: " + await websocket.receive_text())

        @fal.realtime("/realtime")
        def upper(self, prompt: Prompt) -> Prompt:
            return Prompt(text=prompt.text.upper())

    return cloudpickle.dumps(Streamer)


def resolution(
    markers: Path, alias: str = "streamer", auth_mode: str = "public"
) -> registry_pb2.ResolveApplicationResponse:
    return registry_pb2.ResolveApplicationResponse(
        owner="local",
        alias=alias,
        revision=f"{alias}-rev",
        auth_mode=auth_mode,
        serialized_function=streaming_payload(markers),
        serialization_method="cloudpickle",
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
        endpoints=["/", "/forever", "/ws", "/realtime"],
        settings=registry_pb2.MachineRequirements(max_multiplexing=4),
    )


class Gateway:
    def __init__(self, scheduler: Scheduler, port: int, markers: Path) -> None:
        self.scheduler = scheduler
        self.port = port
        self.markers = markers
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"

    def in_flight(self) -> int:
        pools = self.scheduler.pools.pools().values()
        return sum(r.in_flight for pool in pools for r in pool.runners)


@pytest.fixture
async def served(
    tmp_path: Path,
    nats_server: NatsServer,
    fake_registry: tuple[FakeRegistry, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Gateway]:
    markers = tmp_path / "markers"
    markers.mkdir()
    registry = fake_registry[0]
    registry.apps[("local", "streamer")] = resolution(markers)
    registry.apps[("local", "private")] = resolution(markers, "private", "private")
    home = tmp_path / "home"
    config = SchedulerConfig(
        home=home,
        registry_address=fake_registry[1],
        nats_url=nats_server.url,
        internal_token=INTERNAL_TOKEN,
        pool_defaults=PoolDefaults(termination_grace=5.0, startup_timeout=60.0),
    )
    builder = EnvironmentBuilder(home, IndexSettings(), fal_sources=[])
    scheduler = Scheduler(config, builder=builder, environments=_ThisInterpreter())
    await scheduler.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(scheduler.app, host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    monkeypatch.setenv("FAL_RUN_URL", f"http://127.0.0.1:{port}")
    try:
        yield Gateway(scheduler, port, markers)
    finally:
        server.should_exit = True
        await serving
        await scheduler.close()


async def wait_for_file(path: Path, timeout: float = 30.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if path.exists():
            return True
        await asyncio.sleep(0.05)
    return path.exists()


async def test_stream_url_sends_first_event_before_last_is_produced(
    served: Gateway,
) -> None:
    events = []
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream(
            "POST", f"{served.http}/local/streamer/stream", json={"text": "hi"}
        ) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(line.removeprefix("data: "))
                # The handler produces the last event only after this.
                (served.markers / "first-seen").touch()

    assert events == ['{"token": "first"}', '{"token": "last"}']
    assert served.in_flight() == 0


async def test_client_disconnect_cancels_the_handler_on_the_runner(
    served: Gateway,
) -> None:
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream(
            "POST", f"{served.http}/local/streamer/forever", json={"text": "bye"}
        ) as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                assert served.in_flight() == 1
                break

    assert await wait_for_file(served.markers / "cancelled")
    assert (served.markers / "cancelled").read_text() == "bye"


async def test_websocket_echoes_through_gateway_holding_a_slot(
    served: Gateway,
) -> None:
    async with websockets.connect(f"{served.ws}/local/streamer/ws") as socket:
        await socket.send("hello")
        reply = await socket.recv()
        held = served.in_flight()

    assert reply == "echo: hello"
    assert held == 1


async def test_realtime_msgpack_round_trip_through_gateway(served: Gateway) -> None:
    async with websockets.connect(f"{served.ws}/local/streamer/realtime") as socket:
        await socket.send(msgpack.packb({"text": "abc"}))
        reply = msgpack.unpackb(await socket.recv())
        await socket.send(b"\xc1")
        error = msgpack.unpackb(await socket.recv())

    assert reply == {"text": "ABC"}
    assert error["type"] == "x-fal-error"
    assert error["error"] == "INVALID_MESSAGE"


async def test_websocket_to_unknown_app_is_404_before_upgrade(
    served: Gateway,
) -> None:
    with pytest.raises(InvalidStatus) as rejected:
        await websockets.connect(f"{served.ws}/local/missing/realtime")

    assert rejected.value.response.status_code == 404
    assert b"local/missing" in rejected.value.response.body


async def test_private_websocket_needs_key_or_app_token(served: Gateway) -> None:
    url = f"{served.ws}/local/private/ws"
    with pytest.raises(InvalidStatus) as anonymous:
        await websockets.connect(url)
    async with httpx.AsyncClient(timeout=30) as client:
        issued = await client.post(
            f"{served.http}/tokens/",
            json={"allowed_apps": ["private"], "token_expiration": 60},
            headers={"Authorization": f"Key {OWNER_KEY[0]}:{OWNER_KEY[1]}"},
        )
        other = await client.post(
            f"{served.http}/tokens/",
            json={"allowed_apps": ["streamer"]},
            headers={"Authorization": f"Key {OWNER_KEY[0]}:{OWNER_KEY[1]}"},
        )
    token = issued.json()

    async with websockets.connect(f"{url}?fal_jwt_token={token}") as socket:
        await socket.send("hi")
        reply = await socket.recv()
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Key {OWNER_KEY[0]}:{OWNER_KEY[1]}"}
    ) as socket:
        await socket.send("key")
        keyed = await socket.recv()
    with pytest.raises(InvalidStatus) as wrong_app:
        await websockets.connect(f"{url}?fal_jwt_token={other.json()}")
    with pytest.raises(InvalidStatus) as forged:
        await websockets.connect(f"{url}?fal_jwt_token={token[:-2]}xx")

    assert anonymous.value.response.status_code == 401
    assert issued.status_code == 201
    assert reply == "echo: hi"
    assert keyed == "echo: key"
    assert wrong_app.value.response.status_code == 403
    assert forged.value.response.status_code == 401


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"allowed_apps": []}, "non-empty list"),
        ({"allowed_apps": ["private"], "token_expiration": 0}, "token_expiration"),
        ({"allowed_apps": ["local/app"]}, "cannot issue a token for 'local/app'"),
    ],
)
async def test_bad_token_request_is_rejected(
    served: Gateway, body: dict[str, Any], fragment: str
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{served.http}/tokens/",
            json=body,
            headers={"Authorization": f"Key {OTHER_KEY[0]}:{OTHER_KEY[1]}"},
        )

    assert response.status_code in (403, 422)
    assert fragment in response.json()["detail"]


async def test_fal_apps_stream_and_ws_reach_the_app(served: Gateway) -> None:
    def use_sdk() -> tuple[list[str | bytes], str | bytes]:
        (served.markers / "first-seen").touch()
        events = list(fal.apps.stream("local/streamer", {"text": "x"}))
        with fal.apps.ws("local/streamer", path="/ws") as connection:
            connection.send("sdk")
            reply = connection.recv(timeout=30)
        return events, reply

    events, reply = await asyncio.to_thread(use_sdk)

    assert events == ['{"token": "first"}', '{"token": "last"}']
    assert reply == "echo: sdk"


async def test_relay_to_client_closed_by_server_stops_sending(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from starlette.websockets import WebSocket as StarletteWebSocket

    from fal_scheduler.streaming import relay_websocket

    # The runner: a real websocket server that sends frames until closed.
    async def runner_handler(connection: Any) -> None:
        for number in range(100):
            await connection.send(f"frame {number}")
        await connection.wait_closed()

    # The client, at the ASGI boundary: its server has already closed it (a
    # missed keepalive), so a send fails the way uvicorn fails it.
    sent: list[str] = []
    closed_by_server = asyncio.Event()
    inbound = iter([{"type": "websocket.connect"}])

    async def receive() -> dict[str, Any]:
        message = next(inbound, None)
        if message is not None:
            return message
        await closed_by_server.wait()
        return {"type": "websocket.disconnect", "code": 1006}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] != "websocket.accept":
            closed_by_server.set()
            raise RuntimeError(
                f"Unexpected ASGI message '{message['type']}', after sending "
                "'websocket.close'."
            )

    scope = {"type": "websocket", "path": "/", "headers": [], "query_string": b""}
    client = StarletteWebSocket(scope, receive, send)
    await client.accept()
    async with websockets.serve(runner_handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with websockets.connect(f"ws://127.0.0.1:{port}") as runner:
            await asyncio.wait_for(relay_websocket(client, runner), 30)

    assert sent == ["websocket.accept", "websocket.send"]
    assert not [r for r in caplog.records if r.name == "fal_scheduler.streaming"]
