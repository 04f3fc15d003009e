"""The app a remote ``fal.function`` runs in: one endpoint that calls it.

Kept apart from ``fal._private.function`` so that ``import fal`` does not
pay for pydantic and cloudpickle; runners import it when they unpickle a
function's app.
"""

from __future__ import annotations

import base64
import traceback
from typing import Any

import cloudpickle
from pydantic import BaseModel

from fal._private.app import App, endpoint

__all__ = ["FunctionCall", "call_function"]


class FunctionCall(BaseModel):
    """One call of a remote function: ``(args, kwargs)`` pickled, base64."""

    payload: str


def call_function(self: App, call: FunctionCall) -> dict[str, Any]:
    """The endpoint of a function's app: unpickle, call, pickle the outcome."""
    function = type(self)._fal_function  # type: ignore[attr-defined]
    try:
        args, kwargs = cloudpickle.loads(base64.b64decode(call.payload))
        result = function(*args, **kwargs)
    except Exception as error:
        remote_traceback = "".join(traceback.format_exception(error))
        try:
            pickled = _encode(cloudpickle.dumps(error))
        except Exception:  # the traceback still travels
            pickled = None
        return {"ok": False, "error": pickled, "traceback": remote_traceback}
    return {"ok": True, "result": _encode(cloudpickle.dumps(result))}


endpoint("/")(call_function)


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
