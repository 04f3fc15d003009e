"""Streams, websockets and realtime sessions through a real platform.

Apps are deployed with ``fal deploy`` and called through the gateway: SSE
on the run URL's ``/stream``, a websocket echo, a msgpack realtime round
trip, app auth by key and by app token, and how long-lived sessions meet
the autoscaler (keep_alive, max_multiplexing, max_concurrency).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from fal_platform.testing import RunningPlatform

APPS = '''
import asyncio
import os
import threading
import time
from collections.abc import Iterator
from collections.abc import AsyncIterator

from fastapi import WebSocket
from pydantic import BaseModel

import fal


class Prompt(BaseModel):
    text: str = ""
    count: int = 3
    gate: str = ""  # a file that must exist before the second event


async def wait_for_gate(gate: str) -> None:
    for _ in range(600):
        if not gate or os.path.exists(gate):
            return
        await asyncio.sleep(0.05)


class Streamer(fal.App, keep_alive=30):
    app_name = "streamer"
    app_auth = "public"

    @fal.endpoint("/")
    async def generate(self, prompt: Prompt) -> AsyncIterator[dict]:
        for index in range(prompt.count):
            if index:
                await wait_for_gate(prompt.gate)
                await asyncio.sleep(0.2)
            yield {"index": index, "produced_at": time.time()}

    @fal.endpoint("/ws", is_websocket=True)
    async def echo(self, websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            await websocket.send_text("echo: " + await websocket.receive_text())

    @fal.realtime("/realtime")
    def upper(self, prompt: Prompt) -> Prompt:
        return Prompt(text=prompt.text.upper(), count=len(prompt.text))


class Private(Streamer, keep_alive=30):
    app_name = "private-streamer"
    app_auth = "private"


class Sessions(fal.App):
    """Reports its pid and how many sessions it holds, then echoes."""

    app_auth = "public"

    def setup(self) -> None:
        self.open_sessions = 0

    @fal.endpoint("/session", is_websocket=True)
    async def session(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.open_sessions += 1
        try:
            await websocket.send_json(
                {"pid": os.getpid(), "open_sessions": self.open_sessions}
            )
            while True:
                await websocket.send_text(await websocket.receive_text())
        finally:
            self.open_sessions -= 1


class Solo(Sessions, keep_alive=1, max_multiplexing=1, max_concurrency=1):
    app_name = "solo-sessions"


class Pair(Sessions, keep_alive=1, max_multiplexing=1, max_concurrency=2):
    app_name = "pair-sessions"
'''


@pytest.fixture(scope="module")
def apps(
    platform: RunningPlatform, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Deploy every app of APPS; their run URLs by class name."""
    app_file = tmp_path_factory.mktemp("apps") / "streaming_apps.py"
    app_file.write_text(APPS)
    urls = {}
    for name in ("Streamer", "Private", "Solo", "Pair"):
        deployed = platform.fal("deploy", f"{app_file}::{name}", "--json")
        assert deployed.returncode == 0, deployed.stderr
        urls[name] = str(json.loads(deployed.stdout)["urls"]["run"])
    return urls


def ws_url(http_url: str) -> str:
    return "ws://" + http_url.removeprefix("http://")


@contextlib.contextmanager
def open_session(url: str) -> Iterator[tuple[ClientConnection, dict]]:
    """A session with a Sessions app: the connection and its greeting."""
    with connect(ws_url(url) + "/session", open_timeout=120) as connection:
        yield connection, json.loads(connection.recv(timeout=60))


def echo(connection: ClientConnection, text: str) -> str | bytes:
    connection.send(text)
    return connection.recv(timeout=60)


def test_stream_url_delivers_first_event_before_last_is_produced(
    apps: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "first-event-arrived"
    arrivals: list[tuple[float, dict]] = []
    with httpx.stream(
        "POST",
        apps["Streamer"] + "/stream",
        json={"count": 3, "gate": str(gate)},
        timeout=120,
    ) as response:
        content_type = response.headers["content-type"]
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append((time.time(), json.loads(line.removeprefix("data: "))))
                # The handler produces its later events only after this.
                gate.touch()

    assert response.status_code == 200
    assert content_type.startswith("text/event-stream")
    assert [event["index"] for _, event in arrivals] == [0, 1, 2]
    first_arrived = arrivals[0][0]
    last_produced = arrivals[-1][1]["produced_at"]
    # Unbuffered: the client held the first event before the app made the last.
    assert first_arrived < last_produced


def test_fal_apps_stream_yields_events_through_gateway(
    platform: RunningPlatform, apps: dict[str, str]
) -> None:
    import fal.apps

    events = [
        json.loads(event)
        for event in fal.apps.stream(f"{platform.endpoints.owner}/streamer", {})
    ]

    assert [event["index"] for event in events] == [0, 1, 2]


def test_websocket_echoes_through_gateway(apps: dict[str, str]) -> None:
    with connect(ws_url(apps["Streamer"]) + "/ws", open_timeout=120) as connection:
        replies = [echo(connection, text) for text in ("one", "two")]

    assert replies == ["echo: one", "echo: two"]


def test_realtime_msgpack_round_trip_bad_frame_and_end_of_input(
    apps: dict[str, str],
) -> None:
    url = ws_url(apps["Streamer"]) + "/realtime"
    with connect(url, open_timeout=120) as connection:
        connection.send(msgpack.packb({"text": "abc"}))
        reply = msgpack.unpackb(connection.recv(timeout=60))
        connection.send(b"\xc1")
        error = msgpack.unpackb(connection.recv(timeout=60))
        connection.send(msgpack.packb({"text": "still open"}))
        after = msgpack.unpackb(connection.recv(timeout=60))
        connection.send(msgpack.packb({"type": "x-fal-end-of-input"}))
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=60)

    assert reply == {"text": "ABC", "count": 3, "gate": ""}
    assert error["type"] == "x-fal-error"
    assert error["error"] == "INVALID_MESSAGE"
    assert after == {"text": "STILL OPEN", "count": 10, "gate": ""}
    # The end of input closes the session normally, through the relay too.
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000


def test_realtime_on_unknown_app_is_404_before_upgrade(
    platform: RunningPlatform, apps: dict[str, str]
) -> None:
    url = ws_url(platform.endpoints.gateway_url) + "/local/no-such-app/realtime"
    with pytest.raises(InvalidStatus) as rejected:
        connect(url, open_timeout=30)

    assert rejected.value.response.status_code == 404
    assert b"no-such-app" in (rejected.value.response.body or b"")


def test_private_app_stream_and_websocket_need_key_or_app_token(
    platform: RunningPlatform, apps: dict[str, str]
) -> None:
    url = apps["Private"]
    key_header = {"Authorization": f"Key {platform.key}"}
    with pytest.raises(InvalidStatus) as anonymous:
        connect(ws_url(url) + "/ws", open_timeout=30)
    anonymous_stream = httpx.post(url + "/stream", json={}, timeout=30)
    issued = httpx.post(
        f"{platform.endpoints.gateway_url}/tokens/",
        json={"allowed_apps": ["private-streamer"], "token_expiration": 60},
        headers=key_header,
        timeout=30,
    )
    token = issued.json()

    with connect(
        ws_url(url) + "/ws", additional_headers=key_header, open_timeout=120
    ) as connection:
        keyed = echo(connection, "key")
    with connect(
        f"{ws_url(url)}/ws?fal_jwt_token={token}", open_timeout=120
    ) as connection:
        tokened = echo(connection, "token")
    streamed = httpx.post(
        url + "/stream", params={"fal_jwt_token": token}, json={"count": 1}, timeout=60
    )
    with pytest.raises(InvalidStatus) as forged:
        connect(f"{ws_url(url)}/ws?fal_jwt_token={token[:-2]}xx", open_timeout=30)

    assert anonymous.value.response.status_code == 401
    assert anonymous_stream.status_code == 401
    assert issued.status_code == 201
    assert keyed == "echo: key"
    assert tokened == "echo: token"
    assert streamed.status_code == 200
    assert streamed.text.startswith('data: {"index": 0')
    assert forged.value.response.status_code == 401


def test_open_session_keeps_its_runner_past_keep_alive(apps: dict[str, str]) -> None:
    with open_session(apps["Solo"]) as (connection, greeting):
        # Quiet for longer than keep_alive (1 s) and several reaper passes.
        time.sleep(4)
        reply = echo(connection, "still here")
    pid = greeting["pid"]

    assert greeting["open_sessions"] == 1
    assert reply == "still here"
    # Once the session is over the idle runner does stop after keep_alive.
    assert wait_until(lambda: not pid_alive(pid), timeout=60)


def test_session_beyond_capacity_starts_a_second_runner(apps: dict[str, str]) -> None:
    with (
        open_session(apps["Pair"]) as (first, first_greeting),
        open_session(apps["Pair"]) as (second, second_greeting),
    ):
        replies = [echo(first, "a"), echo(second, "b")]

    assert first_greeting["open_sessions"] == 1
    assert second_greeting["open_sessions"] == 1
    assert second_greeting["pid"] != first_greeting["pid"]
    assert replies == ["a", "b"]


def test_session_beyond_max_concurrency_waits_for_the_first_to_end(
    apps: dict[str, str],
) -> None:
    second_opened = threading.Event()

    def second_session() -> tuple[dict, str | bytes]:
        with open_session(apps["Solo"]) as (second, greeting):
            second_opened.set()
            return greeting, echo(second, "after")

    with ThreadPoolExecutor(1) as executor:
        with open_session(apps["Solo"]) as (first, first_greeting):
            waiting = executor.submit(second_session)
            # Round trips on the first session while the second is pending.
            replies = [echo(first, str(index)) for index in range(20)]
            pending_while_first_open = not second_opened.is_set()
        second_greeting, reply = waiting.result(timeout=120)

    assert replies == [str(index) for index in range(20)]
    assert pending_while_first_open
    assert first_greeting["open_sessions"] == 1
    assert second_greeting["open_sessions"] == 1
    assert second_greeting["pid"] == first_greeting["pid"]
    assert reply == "after"


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z" and os.path.exists(f"/proc/{pid}")


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())
