"""The fal App SDK."""

from pkgutil import extend_path

# fal.cli, fal.toolkit and fal.distributed ship in wheels of their own; let
# them live under this package whether installed or in an editable workspace.
__path__ = extend_path(__path__, __name__)

from fal._private.app import App, endpoint
from fal._private.cache import cached
from fal._private.credentials import FalServerlessKeyCredentials
from fal._private.models import HealthCheck

__all__ = ["App", "FalServerlessKeyCredentials", "HealthCheck", "cached", "endpoint"]
