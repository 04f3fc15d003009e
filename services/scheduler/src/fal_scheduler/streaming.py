"""Relaying runners to clients without buffering: HTTP bodies and websockets.

``UpstreamResponse`` sends a runner's response on as it arrives (server-sent
events reach the client event by event) and, when the client goes away,
closes the connection to the runner so that the runner cancels the handler.
``relay_websocket`` joins a client's websocket to a runner's in both
directions; each direction reads only after the previous frame was written,
so a slow reader slows the writer down instead of filling memory.

Both call ``on_close`` exactly once when they end, which is where the
gateway gives the runner slot back to its pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

import httpx
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

__all__ = ["UpstreamResponse", "relay_websocket"]

logger = logging.getLogger(__name__)

OnClose = Callable[[], Awaitable[None]]
# Close codes a peer may not send on the wire; replaced when relayed.
_RESERVED_CLOSE_CODES = {
    CloseCode.NO_STATUS_RCVD: CloseCode.NORMAL_CLOSURE,
    CloseCode.ABNORMAL_CLOSURE: CloseCode.INTERNAL_ERROR,
    CloseCode.TLS_HANDSHAKE: CloseCode.INTERNAL_ERROR,
}


class UpstreamResponse(StreamingResponse):
    """A runner's streamed response, relayed chunk by chunk."""

    def __init__(
        self,
        upstream: httpx.Response,
        headers: Mapping[str, str],
        on_close: OnClose,
    ) -> None:
        super().__init__(
            upstream.aiter_raw(), status_code=upstream.status_code, headers=headers
        )
        self.upstream = upstream
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except httpx.TransportError as error:
            # Headers are out already; all that is left is to end the body.
            logger.warning("A runner's streamed response broke off: %s", error)
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the runner connection (cancelling its handler) and release."""
        on_close, self.on_close = self.on_close, _nothing
        try:
            await self.upstream.aclose()
        finally:
            await on_close()


async def _nothing() -> None:
    return None


async def relay_websocket(client: WebSocket, runner: ClientConnection) -> None:
    """Relay frames both ways until one side closes, then close the other."""
    to_runner = asyncio.create_task(_client_to_runner(client, runner))
    to_client = asyncio.create_task(_runner_to_client(runner, client))
    done, pending = await asyncio.wait(
        {to_runner, to_client}, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None and not isinstance(
            error, ConnectionClosed | WebSocketDisconnect
        ):
            logger.warning("Websocket relay failed: %r", error)

    # Whoever ended first, make sure both ends are closed, each once.
    code, reason = _close_of(runner)
    with contextlib.suppress(Exception):
        await runner.close()
    if _client_open(client):
        with contextlib.suppress(Exception):
            await client.close(code, reason)


async def _client_to_runner(client: WebSocket, runner: ClientConnection) -> None:
    while True:
        message = await client.receive()
        if message["type"] == "websocket.disconnect":
            code = _sendable(message.get("code") or CloseCode.NORMAL_CLOSURE)
            await runner.close(code, message.get("reason") or "")
            return
        data = message.get("bytes")
        # websockets' send waits for the runner to drain: backpressure.
        await runner.send(data if data is not None else message.get("text", ""))


async def _runner_to_client(runner: ClientConnection, client: WebSocket) -> None:
    async for data in runner:
        if not _client_open(client):
            return
        try:
            if isinstance(data, bytes):
                await client.send_bytes(data)
            else:
                await client.send_text(data)
        except RuntimeError as error:
            # The server closed the client's side meanwhile (a stalled client
            # missed its keepalive pongs); that ends the relay, it is no bug.
            if "close" not in str(error):
                raise
            client.application_state = WebSocketState.DISCONNECTED
            return


def _client_open(client: WebSocket) -> bool:
    """Whether frames may still be sent to the client: no close either way."""
    return (
        client.client_state == WebSocketState.CONNECTED
        and client.application_state == WebSocketState.CONNECTED
    )


def _close_of(runner: ClientConnection) -> tuple[int, str]:
    if runner.close_code is None:
        return CloseCode.NORMAL_CLOSURE, ""
    return _sendable(runner.close_code), runner.close_reason or ""


def _sendable(code: int) -> int:
    return int(_RESERVED_CLOSE_CODES.get(code, code))  # type: ignore[call-overload]
