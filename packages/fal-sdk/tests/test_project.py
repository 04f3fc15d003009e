"""pyproject.toml apps: find_project_root, find_pyproject_toml, parse."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fal.project import (
    AppNotInProjectError,
    find_project_root,
    find_pyproject_toml,
    parse_pyproject_toml,
    project_app,
)

PYPROJECT = """
[project]
name = "demo"

[tool.fal.apps.greeter]
ref = "src/greet.py::Greeter"
auth = "public"
strategy = "recreate"

[tool.fal.apps.painter]
ref = "paint.py"
"""


def make_project(tmp_path: Path, text: str = PYPROJECT) -> Path:
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def test_find_project_root_walks_up_to_pyproject(tmp_path: Path) -> None:
    project = make_project(tmp_path)

    root, reason = find_project_root([str(project / "src" / "deep")])

    assert root == project
    assert reason == "pyproject.toml"


def test_find_project_root_prefers_git_directory(tmp_path: Path) -> None:
    project = make_project(tmp_path / "repo")
    (tmp_path / "repo" / ".git").mkdir()

    root, reason = find_project_root([str(project / "src"), str(project / "src/deep")])

    assert (root, reason) == (project, ".git directory")


def test_find_pyproject_toml_returns_absolute_path(tmp_path: Path) -> None:
    project = make_project(tmp_path)

    found = find_pyproject_toml([str(project / "src" / "deep")])

    assert found == str(project / "pyproject.toml")


def test_parse_pyproject_toml_returns_tool_fal(tmp_path: Path) -> None:
    path = make_project(tmp_path) / "pyproject.toml"

    config = parse_pyproject_toml(str(path))

    assert sorted(config["apps"]) == ["greeter", "painter"]
    assert config["apps"]["greeter"]["auth"] == "public"


def test_parse_invalid_toml_raises_decode_error(tmp_path: Path) -> None:
    path = make_project(tmp_path, "[tool.fal\n") / "pyproject.toml"

    with pytest.raises(tomllib.TOMLDecodeError):
        parse_pyproject_toml(str(path))


def test_project_app_makes_ref_absolute(tmp_path: Path) -> None:
    path = make_project(tmp_path) / "pyproject.toml"

    settings = project_app("greeter", str(path))

    assert settings["ref"] == f"{tmp_path}/src/greet.py::Greeter"
    assert settings["strategy"] == "recreate"


def test_project_app_unknown_name_lists_existing(tmp_path: Path) -> None:
    path = make_project(tmp_path) / "pyproject.toml"

    with pytest.raises(AppNotInProjectError, match="it declares: greeter, painter"):
        project_app("nope", str(path))


def test_project_app_bad_value_names_key(tmp_path: Path) -> None:
    text = '[tool.fal.apps.x]\nref = "a.py"\nauth = "open"\n'
    path = make_project(tmp_path, text) / "pyproject.toml"

    with pytest.raises(ValueError, match="auth is 'open'; use one of private"):
        project_app("x", str(path))


def test_project_app_unknown_key_is_named(tmp_path: Path) -> None:
    text = '[tool.fal.apps.x]\nref = "a.py"\nmachine = "GPU"\n'
    path = make_project(tmp_path, text) / "pyproject.toml"

    with pytest.raises(ValueError, match="unknown keys machine"):
        project_app("x", str(path))


def test_project_app_without_ref_is_refused(tmp_path: Path) -> None:
    path = make_project(tmp_path, "[tool.fal.apps.x]\nauth = 'public'\n")

    with pytest.raises(ValueError, match="needs ref"):
        project_app("x", str(path / "pyproject.toml"))
