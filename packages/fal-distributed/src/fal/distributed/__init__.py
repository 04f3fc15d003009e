"""Multi-process workers for fal apps (one process per GPU).

The worker and runner classes arrive with multi-GPU support; for now the
package only establishes the ``fal.distributed`` namespace.
"""

__all__: list[str] = []
