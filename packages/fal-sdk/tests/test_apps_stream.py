"""``fal.apps.stream`` against a real runtime server: events, errors, parsing.

The App is served by ``build_fastapi_app`` mounted under ``/local/streams``,
so the gateway's URL layout (``{run_url}/{owner}/{alias}{path}``) reaches it
without a platform.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Mount

import fal
import fal.apps
from fal._private.http import _event_data
from fal._private.serving import build_fastapi_app
from fal.exceptions import AppClientError, AppStreamError
from fal_platform.testing import free_port


class Count(BaseModel):
    upto: int = 3


class Streams(fal.App):
    @fal.endpoint("/")
    def numbers(self, count: Count) -> Iterator[dict]:
        for number in range(count.upto):
            yield {"n": number}

    @fal.endpoint("/sync-fails")
    def sync_fails(self, count: Count) -> Iterator[dict]:
        yield {"n": 0}
        yield {"n": 1}
        raise ValueError("the generator gave up after two items")

    @fal.endpoint("/async-fails")
    async def async_fails(self, count: Count) -> AsyncIterator[dict]:
        yield {"n": 0}
        raise RuntimeError("the async generator broke")


@pytest.fixture(scope="module")
def run_url() -> Iterator[str]:
    instance = Streams(_allow_init=True)
    served = Starlette(routes=[Mount("/local/streams", build_fastapi_app(instance))])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def gateway(run_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FAL_RUN_URL", run_url)
    return run_url


def test_stream_yields_each_event_data(gateway: str) -> None:
    events = list(fal.apps.stream("local/streams", {"upto": 3}, path="/"))

    assert events == ['{"n": 0}', '{"n": 1}', '{"n": 2}']


def test_sync_generator_error_ends_stream_with_error_event(gateway: str) -> None:
    with httpx.stream(
        "POST", f"{gateway}/local/streams/sync-fails", json={}, timeout=10
    ) as response:
        body = response.read().decode()

    assert response.headers["content-type"].startswith("text/event-stream")
    assert body.endswith(
        'event: error\ndata: {"detail": "the generator gave up after two items", '
        '"error_type": "ValueError"}\n\n'
    )


def test_stream_raises_app_error_after_events_before_the_failure(
    gateway: str,
) -> None:
    received = []
    with pytest.raises(AppClientError) as raised:
        for event in fal.apps.stream("local/streams", {}, path="/sync-fails"):
            received.append(event)

    assert received == ['{"n": 0}', '{"n": 1}']
    assert raised.value.message == "the generator gave up after two items"
    assert raised.value.status_code == 200


def test_async_generator_error_raises_with_its_detail(gateway: str) -> None:
    received = []
    with pytest.raises(AppClientError) as raised:
        for event in fal.apps.stream("local/streams", {}, path="async-fails"):
            received.append(event)

    assert received == ['{"n": 0}']
    assert "the async generator broke" in raised.value.message


def test_stream_of_unknown_endpoint_raises_with_status(gateway: str) -> None:
    with pytest.raises(AppClientError) as raised:
        list(fal.apps.stream("local/streams", {}, path="/missing"))

    assert raised.value.status_code == 404


def test_stream_with_invalid_input_raises_validation_error(gateway: str) -> None:
    with pytest.raises(AppClientError) as raised:
        list(fal.apps.stream("local/streams", {"upto": "many"}, path="/"))

    assert raised.value.status_code == 422
    assert "upto" in raised.value.message


def test_event_parsing_joins_data_lines_and_ignores_other_fields() -> None:
    lines = [
        ": a comment the server sent to keep the connection open",
        "id: 7",
        "data: first line",
        "data:second line",
        "",
        "",
        "event: progress",
        "retry: 1000",
        "data: {}",
        "",
        "data: no blank line at the end",
    ]

    events = list(_event_data(iter(lines)))

    assert events == [
        "first line\nsecond line",
        "{}",
        "no blank line at the end",
    ]


def test_event_parsing_raises_on_error_event_with_plain_text_data() -> None:
    lines = ["data: ok", "", "event: error", "data: not json", ""]
    parsed = _event_data(iter(lines))

    assert next(parsed) == "ok"
    with pytest.raises(AppClientError) as raised:
        next(parsed)
    assert raised.value.message == "not json"


def test_event_parsing_ignores_an_event_without_data() -> None:
    lines = ["event: error", "", "data: after", ""]

    assert list(_event_data(iter(lines))) == ["after"]


def test_stream_error_event_raises_stream_error_with_type(gateway: str) -> None:
    with pytest.raises(AppStreamError) as raised:
        list(fal.apps.stream("local/streams", {}, path="/sync-fails"))

    assert raised.value.status_code == 200
    assert raised.value.error_type == "ValueError"
    assert "HTTP 500" not in str(raised.value)
    assert "ValueError" in str(raised.value)
