"""In-memory caching of function results."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

ArgsT = ParamSpec("ArgsT")
ReturnT = TypeVar("ReturnT")


def cached(function: Callable[ArgsT, ReturnT]) -> Callable[ArgsT, ReturnT]:
    """Remember ``function``'s result per argument tuple for the process's life.

    Arguments must be hashable. Typical use: load a model once per runner.
    """
    return functools.cache(function)  # type: ignore[return-value]
