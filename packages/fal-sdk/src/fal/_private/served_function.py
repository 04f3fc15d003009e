"""``ServedIsolatedFunction``: an isolated function that can also serve HTTP."""

from __future__ import annotations

from typing import Any

from fal._private.function import IsolatedFunction
from fal._private.servable import ServeWrapper

__all__ = ["ServedIsolatedFunction"]


class ServedIsolatedFunction(IsolatedFunction[Any, Any]):
    """An IsolatedFunction whose raw function is also served at ``POST /``.

    Calling it runs on its host like any IsolatedFunction; ``servable()``
    is the ``ServeWrapper`` of the raw function and ``serve()`` serves it
    in this process until Ctrl-C.
    """

    def servable(self) -> ServeWrapper:
        return ServeWrapper(self.raw_func)

    def serve(self, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.servable().serve(host=host, port=port)
