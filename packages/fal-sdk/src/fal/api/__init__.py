"""Programmatic deployment of apps."""

from fal.api.deploy import build_register_request, serialize_app

__all__ = ["build_register_request", "serialize_app"]
