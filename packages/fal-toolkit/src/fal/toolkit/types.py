"""Fields for File-like inputs and outputs of request models."""

from __future__ import annotations

from typing import Any

from fal.toolkit.pydantic import Field


def _file_field(kind: str, *args: Any, **kwargs: Any) -> Any:
    return Field(*args, ui={"field": kind}, **kwargs)


def FileField(*args: Any, **kwargs: Any) -> Any:
    """A field holding a file URL."""
    return _file_field("file", *args, **kwargs)


def ImageField(*args: Any, **kwargs: Any) -> Any:
    """A field holding an image URL."""
    return _file_field("image", *args, **kwargs)


def AudioField(*args: Any, **kwargs: Any) -> Any:
    """A field holding an audio URL."""
    return _file_field("audio", *args, **kwargs)


def VideoField(*args: Any, **kwargs: Any) -> Any:
    """A field holding a video URL."""
    return _file_field("video", *args, **kwargs)


__all__ = ["AudioField", "FileField", "ImageField", "VideoField"]
