"""The ``fal`` command line interface."""

from fal.cli.main import main

__all__ = ["main"]
