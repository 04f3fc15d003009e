"""Client configuration: profiles of hosts and keys."""

from fal._private.config import Config

__all__ = ["Config"]
