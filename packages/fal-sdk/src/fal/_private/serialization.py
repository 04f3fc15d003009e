"""Pickle an App class so that a runner without its source can load it."""

from __future__ import annotations

import importlib
import site
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import cloudpickle

from fal._private.api_errors import FalMissingDependencyError
from fal._private.app import App
from fal._private.dependencies import find_unshipped_local_modules
from fal._private.serving import resolve_endpoint_annotations

SERIALIZATION_METHOD = "cloudpickle"


def serialize_app(app_class: type[App]) -> bytes:
    """``cloudpickle.dumps(app_class)``, with the user's modules by value.

    The module defining the class and its ``local_python_modules`` travel
    inside the payload; installed packages are pickled by reference and
    must be in the app's requirements.
    """
    resolve_endpoint_annotations(app_class)
    modules = [_module_of(app_class)]
    modules += [
        importlib.import_module(name) for name in app_class.local_python_modules
    ]
    shipped = [module.__name__ for module in modules if module is not None]
    check_local_modules_shipped(app_class, [app_class.__module__, *shipped])
    with _pickled_by_value(module for module in modules if module is not None):
        return cloudpickle.dumps(app_class)


def check_local_modules_shipped(root: object, shipped: list[str]) -> None:
    """Raise FalMissingDependencyError naming local modules not shipped."""
    missing = find_unshipped_local_modules([root], shipped)
    if not missing:
        return
    names = sorted(missing)
    listing = ", ".join(f"{name!r} ({missing[name]})" for name in names)
    name = getattr(root, "__name__", repr(root))
    raise FalMissingDependencyError(
        f"{name} uses the local module(s) {listing}, which would not exist in "
        f"the runner; ship them with local_python_modules = {names!r}."
    )


def is_installed_module(module: ModuleType) -> bool:
    """Whether ``module`` comes from the standard library or site-packages."""
    if module.__name__ == "fal" or module.__name__.startswith("fal."):
        return True  # the runner's environment always has the SDK
    filename = getattr(module, "__file__", None)
    if filename is None:
        return module.__name__ in sys.builtin_module_names
    path = Path(filename).resolve()
    return any(path.is_relative_to(root) for root in _installed_roots())


def _installed_roots() -> list[Path]:
    paths = sysconfig.get_paths()
    roots = [paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")]
    roots += site.getsitepackages()
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        roots.append(user_site)
    return [Path(root).resolve() for root in roots]


def _module_of(app_class: type[App]) -> ModuleType | None:
    module = sys.modules.get(app_class.__module__)
    if module is None or module.__name__ == "__main__":
        return None  # cloudpickle already pickles __main__ by value
    return module


@contextmanager
def _pickled_by_value(modules: Iterator[ModuleType]) -> Iterator[None]:
    registered: list[ModuleType] = []
    try:
        for module in modules:
            if is_installed_module(module) or _already_by_value(module):
                continue
            cloudpickle.register_pickle_by_value(module)
            registered.append(module)
        yield
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def _already_by_value(module: ModuleType) -> bool:
    return module.__name__ in cloudpickle.list_registry_pickle_by_value()
