"""Helpers for code running inside fal apps: files, downloads, KV, caches."""

from fal.toolkit.compilation import (
    load_inductor_cache,
    sync_inductor_cache,
    synchronized_inductor_cache,
)
from fal.toolkit.download import (
    clone_repository,
    download_file,
    download_model_weights,
)
from fal.toolkit.exceptions import (
    DownloadError,
    FalTookitException,
    FileUploadException,
    KVStoreException,
)
from fal.toolkit.file import (
    Audio,
    CompressedFile,
    File,
    Image,
    Video,
    upload_image,
)
from fal.toolkit.kv import KVStore
from fal.toolkit.pydantic import FalBaseModel, Field, Hidden
from fal.toolkit.types import AudioField, FileField, ImageField, VideoField
from fal.toolkit.utils import ImageSize, get_gpu_type, get_image_size

__all__ = [
    "Audio",
    "AudioField",
    "CompressedFile",
    "DownloadError",
    "FalBaseModel",
    "FalTookitException",
    "Field",
    "File",
    "FileField",
    "FileUploadException",
    "Hidden",
    "Image",
    "ImageField",
    "ImageSize",
    "KVStore",
    "KVStoreException",
    "Video",
    "VideoField",
    "clone_repository",
    "download_file",
    "download_model_weights",
    "get_gpu_type",
    "get_image_size",
    "load_inductor_cache",
    "sync_inductor_cache",
    "synchronized_inductor_cache",
    "upload_image",
]
