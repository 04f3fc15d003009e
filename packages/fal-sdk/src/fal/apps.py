"""Call deployed apps over HTTP."""

from fal._private.http import run

__all__ = ["run"]
