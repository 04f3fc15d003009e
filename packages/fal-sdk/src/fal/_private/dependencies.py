"""What an app's code needs at run time that its deploy may not provide.

Two checks walk the globals the app's code mentions, the way cloudpickle
decides what to pickle: functions and classes of the app's own modules are
shipped by value and walked further; anything else is pickled by reference
and must import in the runner.

- ``find_unshipped_local_modules``: modules from the user's files (not
  installed) that are not shipped: the runner could never import them.
- ``find_missing_dependencies``: installed third-party packages used by the
  code that neither the requirements nor the runner's own packages provide.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from types import CodeType, FunctionType, ModuleType
from typing import Any

__all__ = [
    "RUNTIME_DISTRIBUTIONS",
    "find_missing_dependencies",
    "find_unshipped_local_modules",
    "requirement_name",
]

# Installed into every app environment by the platform.
RUNTIME_DISTRIBUTIONS = ("fal-sdk", "fal-proto", "fal-toolkit")

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_MARKER_EXTRA = re.compile(r"extra\s*==")


def requirement_name(requirement: str) -> str | None:
    """The normalized distribution name of a pip requirement, if it has one.

    URLs and paths name no distribution unless written ``name @ url``.
    """
    text = requirement.strip()
    if "@" in text:
        text = text.split("@", 1)[0]
    elif "/" in text or text.startswith("."):
        return None
    match = _NAME.match(text)
    return _normalize(match.group(1)) if match else None


def find_unshipped_local_modules(
    roots: Iterable[Any], shipped: Iterable[str]
) -> dict[str, str]:
    """Local modules the code of ``roots`` uses that are not shipped.

    ``shipped`` names the modules pickled by value (the app's module and its
    ``local_python_modules``). Returns module name -> file.
    """
    shipped_names = set(shipped)
    missing: dict[str, str] = {}
    for module_name in _referenced_modules(roots, shipped_names):
        if _is_shipped(module_name, shipped_names):
            continue
        module = sys.modules.get(module_name)
        if module is None or _is_installed(module):
            continue
        missing[module_name] = str(getattr(module, "__file__", "") or "")
    return missing


def find_missing_dependencies(
    roots: Iterable[Any], requirements: Iterable[str], shipped: Iterable[str] = ()
) -> list[tuple[str, list[str]]]:
    """Installed packages the code of ``roots`` uses but nothing provides.

    Returns ``(distribution, [modules used])`` pairs, sorted.
    """
    shipped_names = set(shipped)
    provided = _closure(
        [name for r in requirements if (name := requirement_name(r))]
        + list(RUNTIME_DISTRIBUTIONS)
    )
    owners = _module_distributions()
    used: dict[str, set[str]] = {}
    for module_name in _referenced_modules(roots, shipped_names):
        top = module_name.partition(".")[0]
        if _is_shipped(module_name, shipped_names) or top in sys.stdlib_module_names:
            continue
        module = sys.modules.get(module_name)
        if module is None or not _is_installed(module) or top == "fal":
            continue
        distributions = owners.get(top, [])
        if distributions and not any(d in provided for d in distributions):
            used.setdefault(distributions[0], set()).add(top)
    return sorted((name, sorted(modules)) for name, modules in used.items())


def _referenced_modules(roots: Iterable[Any], shipped: set[str]) -> Iterator[str]:
    """Names of the modules holding what the code of ``roots`` mentions."""
    seen: set[int] = set()
    pending = list(roots)
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        for value in _mentioned_values(item):
            module_name = _module_name(value)
            if module_name is None:
                continue
            if _is_shipped(module_name, shipped):
                if not isinstance(value, ModuleType):
                    pending.append(value)
                continue
            yield module_name


def _mentioned_values(item: Any) -> Iterator[Any]:
    if isinstance(item, type):
        yield from item.__bases__
        for member in vars(item).values():
            yield from _functions_of(member)
        return
    function = inspect.unwrap(item) if callable(item) else item
    if isinstance(function, FunctionType):
        namespace = function.__globals__
        for name in _code_names(function.__code__):
            if name in namespace:
                yield namespace[name]
        for cell in function.__closure__ or ():
            try:
                yield cell.cell_contents
            except ValueError:
                continue


def _functions_of(member: Any) -> Iterator[Any]:
    if isinstance(member, staticmethod | classmethod):
        yield member.__func__
    elif isinstance(member, property):
        yield from (f for f in (member.fget, member.fset, member.fdel) if f)
    elif isinstance(member, FunctionType | type):
        yield member


def _code_names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _code_names(constant)


def _module_name(value: Any) -> str | None:
    if isinstance(value, ModuleType):
        return value.__name__
    if isinstance(value, type | FunctionType) or callable(value):
        name = getattr(value, "__module__", None)
        return name if isinstance(name, str) else None
    return None


def _is_shipped(module_name: str, shipped: set[str]) -> bool:
    return any(
        module_name == name or module_name.startswith(f"{name}.") for name in shipped
    )


def _is_installed(module: ModuleType) -> bool:
    from fal._private.serialization import is_installed_module

    return is_installed_module(module)


@cache
def _module_distributions() -> dict[str, list[str]]:
    mapping = importlib.metadata.packages_distributions()
    return {top: [_normalize(n) for n in names] for top, names in mapping.items()}


def _closure(names: list[str]) -> set[str]:
    """The distributions named and everything they require, installed ones."""
    found: set[str] = set()
    pending = [_normalize(name) for name in names]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        pending.extend(_requires(name))
    return found


@cache
def _requires(name: str) -> tuple[str, ...]:
    try:
        requires = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    names = []
    for requirement in requires:
        if _MARKER_EXTRA.search(requirement.partition(";")[2]):
            continue
        parsed = requirement_name(requirement.partition(";")[0])
        if parsed:
            names.append(parsed)
    return tuple(names)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
