"""Blob storage for the platform: files that apps and their callers share."""

from fal_filestore.app import create_app
from fal_filestore.auth import AuthenticationError, Authenticator, KeyAuthenticator
from fal_filestore.backends import (
    BlobBackend,
    BlobInfo,
    LocalDirectoryBackend,
    PartInfo,
    PathError,
    S3Backend,
    UploadNotFoundError,
    clean_path,
)
from fal_filestore.service import Filestore, FilestoreError, Settings

__all__ = [
    "AuthenticationError",
    "Authenticator",
    "BlobBackend",
    "BlobInfo",
    "Filestore",
    "FilestoreError",
    "KeyAuthenticator",
    "LocalDirectoryBackend",
    "PartInfo",
    "PathError",
    "S3Backend",
    "Settings",
    "UploadNotFoundError",
    "clean_path",
    "create_app",
]
