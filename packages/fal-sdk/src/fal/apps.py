"""Call deployed apps over HTTP: sync, as server-sent events, or a websocket."""

from fal._private.http import WebSocketConnection, run, stream, ws

__all__ = ["WebSocketConnection", "run", "stream", "ws"]
