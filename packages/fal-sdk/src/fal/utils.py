"""Load apps from Python files."""

from fal._private.loader import LoadedFunction, load_function_from

__all__ = ["LoadedFunction", "load_function_from"]
