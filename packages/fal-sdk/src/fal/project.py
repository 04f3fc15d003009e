"""Apps declared in ``pyproject.toml`` under ``[tool.fal.apps.NAME]``.

```toml
[tool.fal.apps.greeter]
ref = "src/greet.py::Greeter"   # FILE[::CLASS], relative to pyproject.toml
auth = "public"                 # private | public | shared
strategy = "rolling"            # rolling | recreate
```

``fal deploy greeter`` deploys it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "AppNotInProjectError",
    "find_project_root",
    "find_pyproject_toml",
    "parse_pyproject_toml",
    "project_app",
]

# Keys of an app table and the values they may take (None: any string).
APP_KEYS: dict[str, tuple[str, ...] | None] = {
    "ref": None,
    "auth": ("private", "public", "shared"),
    "strategy": ("rolling", "recreate"),
    "name": None,
    "env": None,
    "reset_scale": None,
    "no_scale": None,
}


class AppNotInProjectError(LookupError):
    """The project's pyproject.toml declares no app of the asked name."""


def find_project_root(srcs: Sequence[str] | None) -> tuple[Path, str]:
    """The nearest common parent of ``srcs`` holding .git or pyproject.toml.

    Returns the directory and what marked it; the file system root when
    nothing did.
    """
    paths = [Path(src).resolve() for src in (srcs or [str(Path.cwd())])]
    common = paths[0] if len(paths) == 1 else Path(_common_parent(paths))
    for directory in (common, *common.parents):
        if (directory / ".git").exists():
            return directory, ".git directory"
        if (directory / "pyproject.toml").is_file():
            return directory, "pyproject.toml"
    return Path(common.anchor), "file system root"


def find_pyproject_toml(path_search_start: Sequence[str] | None = None) -> str | None:
    """The absolute path of the project's pyproject.toml, if it has one."""
    root, _ = find_project_root(path_search_start)
    candidate = root / "pyproject.toml"
    return str(candidate) if candidate.is_file() else None


def parse_pyproject_toml(path_config: str) -> dict[str, Any]:
    """The ``[tool.fal]`` table of a pyproject.toml, ``{}`` when it has none.

    A file that is not valid TOML raises ``tomllib.TOMLDecodeError``.
    """
    with open(path_config, "rb") as config:
        document = tomllib.load(config)
    fal_table = document.get("tool", {}).get("fal", {})
    if not isinstance(fal_table, dict):
        raise ValueError(f"{path_config}: [tool.fal] must be a table.")
    return fal_table


def project_app(name: str, path_config: str) -> dict[str, Any]:
    """The settings of app ``name``, its ``ref`` made absolute; checked."""
    apps = parse_pyproject_toml(path_config).get("apps", {})
    if not isinstance(apps, dict) or name not in apps:
        existing = ", ".join(sorted(apps)) if isinstance(apps, dict) else ""
        raise AppNotInProjectError(
            f"{path_config} declares no app {name!r} under [tool.fal.apps]; "
            f"it declares: {existing or 'none'}."
        )
    settings = apps[name]
    _check_app_table(name, settings, path_config)
    file_part, separator, class_part = settings["ref"].partition("::")
    absolute = Path(path_config).parent / file_part
    return {**settings, "ref": f"{absolute}{separator}{class_part}"}


def _check_app_table(name: str, settings: Any, path_config: str) -> None:
    where = f"{path_config}: [tool.fal.apps.{name}]"
    if not isinstance(settings, dict):
        raise ValueError(f"{where} must be a table.")
    unknown = sorted(set(settings) - set(APP_KEYS))
    if unknown:
        raise ValueError(
            f"{where} has unknown keys {', '.join(unknown)}; valid keys are "
            f"{', '.join(sorted(APP_KEYS))}."
        )
    if not isinstance(settings.get("ref"), str) or not settings["ref"]:
        raise ValueError(f'{where} needs ref = "FILE.py" or "FILE.py::Class".')
    for key, allowed in APP_KEYS.items():
        value = settings.get(key)
        if allowed is not None and value is not None and value not in allowed:
            raise ValueError(
                f"{where}: {key} is {value!r}; use one of {', '.join(allowed)}."
            )


def _common_parent(paths: list[Path]) -> str:
    return os.path.commonpath([str(path) for path in paths])
