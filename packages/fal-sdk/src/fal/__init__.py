"""The fal App SDK."""

from pkgutil import extend_path

# fal.cli, fal.toolkit and fal.distributed ship in wheels of their own; let
# them live under this package whether installed or in an editable workspace.
__path__ = extend_path(__path__, __name__)

from fal import realtime  # the module, callable as the decorator
from fal._private.app import App, endpoint
from fal._private.cache import cached
from fal._private.credentials import FalServerlessKeyCredentials
from fal._private.function import function
from fal._private.models import HealthCheck
from fal.container import ContainerImage

__all__ = [
    "App",
    "ContainerImage",
    "FalServerlessKeyCredentials",
    "HealthCheck",
    "cached",
    "endpoint",
    "function",
    "realtime",
    "sync_dir",
]


def __getattr__(name: str) -> object:
    # sync_dir pulls in fsspec; import it only when asked for.
    if name == "sync_dir":
        from fal.sync import sync_dir

        return sync_dir
    raise AttributeError(f"module 'fal' has no attribute {name!r}")
