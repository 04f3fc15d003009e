"""The runtime's output capture: one JSON line per line, tagged by request."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from fal._private.app import RequestContext, current_request_context
from fal._runtime.logs import JsonLogHandler, RequestLogStream


def _lines(target: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in target.getvalue().splitlines()]


def _in_request(request_id: str) -> Any:
    context = RequestContext(
        request_id=request_id, endpoint="/", lifecycle_preference=None, headers={}
    )
    return current_request_context.set(context)


def test_stream_writes_each_line_as_json_with_the_request_id() -> None:
    target = io.StringIO()
    stream = RequestLogStream(target, "stdout", "INFO")

    token = _in_request("req-1")
    try:
        stream.write("first line\nsecond ")
        stream.write("half\n")
    finally:
        current_request_context.reset(token)
    stream.write("outside\n")

    lines = _lines(target)
    assert [line["message"] for line in lines] == [
        "first line",
        "second half",
        "outside",
    ]
    assert [line["request_id"] for line in lines] == ["req-1", "req-1", None]
    assert {line["source"] for line in lines} == {"stdout"}
    assert all("T" in line["timestamp"] for line in lines)


def test_stream_keeps_partial_lines_of_requests_apart() -> None:
    target = io.StringIO()
    stream = RequestLogStream(target, "stderr", "ERROR")

    first = _in_request("a")
    stream.write("from a ")
    current_request_context.reset(first)
    second = _in_request("b")
    stream.write("from b\n")
    current_request_context.reset(second)
    first = _in_request("a")
    stream.write("again\n")
    current_request_context.reset(first)

    by_request = {line["request_id"]: line for line in _lines(target)}
    assert by_request["a"]["message"] == "from a again"
    assert by_request["b"]["message"] == "from b"
    assert by_request["a"]["level"] == "ERROR"
    assert by_request["a"]["source"] == "stderr"


def test_log_handler_writes_records_with_their_level() -> None:
    target = io.StringIO()
    logger = logging.getLogger("fal.test.capture")
    logger.propagate = False
    logger.addHandler(JsonLogHandler(target))
    token = _in_request("req-9")
    try:
        logger.warning("disk almost full")
    finally:
        current_request_context.reset(token)
        logger.handlers.clear()

    (line,) = _lines(target)
    assert line["level"] == "WARNING"
    assert line["request_id"] == "req-9"
    assert line["message"].endswith("disk almost full")


def test_log_handler_attributes_server_records_to_no_request() -> None:
    target = io.StringIO()
    logger = logging.getLogger("uvicorn.access.test")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(JsonLogHandler(target))
    token = _in_request("req-9")
    try:
        logger.info('"POST / HTTP/1.1" 200')
    finally:
        current_request_context.reset(token)
        logger.handlers.clear()

    (line,) = _lines(target)
    assert line["request_id"] is None
