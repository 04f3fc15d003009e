"""The serving surface shared by Apps and served functions.

Kept free of web-framework imports so that ``import fal`` stays light; the
FastAPI and uvicorn parts live in ``fal._private.servable``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fal._private.app import RouteSignature

__all__ = ["BaseServable"]


class BaseServable:
    """Routes served over HTTP; subclasses say which in ``collect_routes``."""

    def collect_routes(self) -> dict[RouteSignature, Callable[..., Any]]:
        raise NotImplementedError(
            f"{type(self).__name__} must define collect_routes()."
        )

    def build_app(self) -> Any:
        """The FastAPI application serving ``collect_routes`` as POST routes."""
        from fal._private.servable import FalFastAPI

        server = FalFastAPI(title=type(self).__name__)
        for signature, handler in self.collect_routes().items():
            if signature.is_websocket:
                server.add_api_websocket_route(signature.path, handler)
            else:
                server.add_api_route(signature.path, handler, methods=["POST"])
        return server

    def serve(self, host: str = "127.0.0.1", port: int = 8080) -> None:
        """Serve until Ctrl-C (or SIGTERM) in this process."""
        from fal._private.servable import FalServer

        FalServer(self, host=host, port=port).run()
