"""Errors of the toolkit; all derive from FalTookitException.

The root's spelling follows the public name apps already import.
"""

from __future__ import annotations


class FalTookitException(Exception):
    """Root of the toolkit's errors."""


class FileUploadException(FalTookitException):
    """A file could not be stored."""


class DownloadError(FalTookitException):
    """A download failed: bad status, HTML instead of a file, or refused URL."""


class KVStoreException(FalTookitException):
    """The key-value store refused a request or could not be reached."""


__all__ = [
    "DownloadError",
    "FalTookitException",
    "FileUploadException",
    "KVStoreException",
]
