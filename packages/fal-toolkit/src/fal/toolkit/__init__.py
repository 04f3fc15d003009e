"""Helpers for code running inside fal apps.

Files, images, model weights and the key-value store arrive here as the
filestore grows; for now the package only establishes the ``fal.toolkit``
namespace so that apps importing it load.
"""

__all__: list[str] = []
