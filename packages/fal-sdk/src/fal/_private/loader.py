"""Load the App class a user's Python file defines."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from fal._private.app import App, AuthMode, default_app_name
from fal.exceptions import AppLoadError


@dataclass(frozen=True)
class LoadedFunction:
    """An App class found in a file, with what deploying it needs."""

    function: type[App]
    endpoints: list[str]
    app_name: str | None
    app_auth: AuthMode | None
    source_code: str | None
    class_name: str | None = None


def load_function_from(
    host: Any,
    file_path: str,
    function_name: str | None = None,
    *,
    force_env_build: bool = False,
    options: Any = None,
    app_name: str | None = None,
    app_auth: AuthMode | None = None,
    limit_max_requests: int | None = None,
) -> LoadedFunction:
    """Import ``file_path`` and pick its App class.

    Without ``function_name`` the file must define exactly one App subclass.
    ``app_name`` and ``app_auth`` override the class's own settings. ``host``,
    ``force_env_build``, ``options`` and ``limit_max_requests`` are accepted
    for compatibility and not used.
    """
    path = Path(file_path)
    source = _read_source(path)
    module = _import_file(path, source)
    app_class = _select_app(module, path, function_name)
    return LoadedFunction(
        function=app_class,
        endpoints=app_class.get_endpoints(),
        app_name=app_name or app_class.app_name or default_app_name(app_class),
        app_auth=app_auth or app_class.app_auth,
        source_code=source,
        class_name=app_class.__name__,
    )


def _read_source(path: Path) -> str:
    if not path.is_file():
        raise AppLoadError(f"{path}: no such file; check the path to the app file.")
    return path.read_text(encoding="utf-8")


def _import_file(path: Path, source: str) -> ModuleType:
    """Execute the file as a module of a name no other file gets."""
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as error:
        raise AppLoadError(
            f"{path}:{error.lineno}: syntax error: {error.msg}."
        ) from error

    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_fal_app_{_identifier(path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise AppLoadError(f"{path}: cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    # Sibling modules of the app file (local_python_modules) must import.
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except Exception as error:
        del sys.modules[name]
        raise AppLoadError(
            f"{path}: importing the file raised {type(error).__name__}: {error}"
        ) from error
    return module


def _identifier(stem: str) -> str:
    return "".join(char if char.isalnum() else "_" for char in stem)


def _select_app(module: ModuleType, path: Path, function_name: str | None) -> type[App]:
    defined = {
        name: value
        for name, value in vars(module).items()
        if _is_app_class(value) and value.__module__ == module.__name__
    }
    if function_name is not None:
        candidate = getattr(module, function_name, None)
        if _is_app_class(candidate):
            return cast(type[App], candidate)
        raise AppLoadError(
            f"{path}: there is no App class named {function_name!r}; the file "
            f"defines {_listing(defined)}."
        )
    if len(defined) == 1:
        return next(iter(defined.values()))
    if not defined:
        raise AppLoadError(
            f"{path}: the file defines no fal.App subclass; define one with "
            "`class MyApp(fal.App): ...`."
        )
    raise AppLoadError(
        f"{path}: the file defines several App classes ({_listing(defined)}); "
        "name the one to use, e.g. `fal deploy FILE::ClassName`."
    )


def _is_app_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, App) and value is not App


def _listing(names: dict[str, Any]) -> str:
    return ", ".join(sorted(names)) if names else "no App classes"
