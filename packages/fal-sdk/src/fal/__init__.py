"""The fal App SDK."""

from pkgutil import extend_path

# fal.cli, fal.toolkit and fal.distributed ship in wheels of their own; let
# them live under this package whether installed or in an editable workspace.
__path__ = extend_path(__path__, __name__)
