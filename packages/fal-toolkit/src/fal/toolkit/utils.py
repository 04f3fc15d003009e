"""Small facts about the machine and common image sizes."""

from __future__ import annotations

import shutil
import subprocess
from typing import Literal

from pydantic import BaseModel

ImageSizePreset = Literal[
    "square_hd",
    "square",
    "portrait_4_3",
    "portrait_16_9",
    "landscape_4_3",
    "landscape_16_9",
]

GPU_QUERY_TIMEOUT = 10.0

PRESETS: dict[str, tuple[int, int]] = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}


class ImageSize(BaseModel):
    """A width and height in pixels."""

    width: int = 512
    height: int = 512


def get_image_size(source: ImageSize | str | dict) -> ImageSize:
    """Resolve a preset name, a dict or an ImageSize to an ImageSize."""
    if isinstance(source, ImageSize):
        return source
    if isinstance(source, dict):
        return ImageSize(**source)
    if source not in PRESETS:
        raise ValueError(
            f"Image size {source!r} is not a preset; use one of {', '.join(PRESETS)}."
        )
    width, height = PRESETS[source]
    return ImageSize(width=width, height=height)


def get_gpu_type() -> str:
    """The name of the first GPU, as nvidia-smi reports it; '' without one."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return ""
    try:
        result = subprocess.run(
            [binary, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=GPU_QUERY_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""  # a driver that hangs or a broken binary: no usable GPU
    lines = result.stdout.strip().splitlines() if result.returncode == 0 else []
    return lines[0].strip() if lines else ""


__all__ = ["ImageSize", "get_gpu_type", "get_image_size"]
