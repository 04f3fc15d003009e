"""Define apps: the App base class, endpoints and the request context."""

from fal._private.app import App, RequestContext, RouteSignature, endpoint
from fal._private.local import wrap_app
from fal._private.serving import build_fastapi_app
from fal.exceptions import AppClientError

__all__ = [
    "App",
    "AppClientError",
    "RequestContext",
    "RouteSignature",
    "build_fastapi_app",
    "endpoint",
    "wrap_app",
]
