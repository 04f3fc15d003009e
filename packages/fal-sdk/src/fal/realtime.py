"""Realtime endpoints: ``@fal.realtime(path)`` and its msgpack frame codec.

The module is itself callable, so ``fal.realtime(path, ...)`` and
``fal.realtime.realtime(path, ...)`` are the same decorator.
"""

import sys
import types
from typing import Any

from fal._private.realtime import (
    msgpack_decode_message,
    msgpack_encode_message,
    realtime,
)

__all__ = ["msgpack_decode_message", "msgpack_encode_message", "realtime"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return realtime(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
