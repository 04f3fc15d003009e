"""Blob storage for the platform: files that apps and their callers share."""

from fal_filestore.app import create_app
from fal_filestore.backends import BlobBackend, LocalDirectoryBackend, PathError

__all__ = ["BlobBackend", "LocalDirectoryBackend", "PathError", "create_app"]
