"""Call deployed apps over HTTP: sync, queued, as server-sent events, or a websocket."""

from fal._private.http import WebSocketConnection, run, stream, ws
from fal._private.queue import Completed, InProgress, Queued, RequestHandle, submit

__all__ = [
    "Completed",
    "InProgress",
    "Queued",
    "RequestHandle",
    "WebSocketConnection",
    "run",
    "stream",
    "submit",
    "ws",
]
