"""Deploy-time checks of an app's code: local modules, dependencies, Python."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fal._private.register import missing_dependency_warnings
from fal.api import build_register_request
from fal.api.api import FalMissingDependencyError, find_missing_dependencies
from fal.utils import load_function_from

UNSHIPPED_APP = """
import fal
import unshipped_helpers


class Uses(fal.App):
    @fal.endpoint("/")
    def run(self) -> dict:
        return {"value": unshipped_helpers.VALUE}
"""

HELPER_FUNCTION_APP = """
import fal
from unshipped_functions import compute


def indirect() -> int:
    return compute()


class Uses(fal.App):
    @fal.endpoint("/")
    def run(self) -> dict:
        return {"value": indirect()}
"""

YAML_APP = """
import fal
import yaml


class Parses(fal.App):
    requirements = {requirements}

    @fal.endpoint("/")
    def run(self) -> dict:
        return yaml.safe_load("a: 1")
"""

PINNED_APP = """
import fal


class Pinned(fal.App, python_version={version!r}):
    @fal.endpoint("/")
    def run(self) -> dict:
        return {{}}
"""

CONTAINER_APP = """
import fal
from fal.container import ContainerImage


class Boxed(fal.App, kind="container"):
    image = ContainerImage.from_dockerfile_str(
        "FROM python:3.11\\n", secrets={"TOKEN": "s3cr3t"}
    )

    @fal.endpoint("/")
    def run(self) -> dict:
        return {}
"""


def load(write_app: Callable[..., Path], source: str, **helpers: str) -> type:
    path = write_app(source)
    for name, text in helpers.items():
        (path.parent / f"{name}.py").write_text(text)
    return load_function_from(None, str(path)).function


def test_deploy_unshipped_local_module_raises_naming_it(
    write_app: Callable[..., Path],
) -> None:
    app = load(write_app, UNSHIPPED_APP, unshipped_helpers="VALUE = 1\n")

    with pytest.raises(FalMissingDependencyError) as caught:
        build_register_request(app)

    message = str(caught.value)
    assert "'unshipped_helpers'" in message
    assert "unshipped_helpers.py" in message
    assert "local_python_modules = ['unshipped_helpers']" in message


def test_deploy_unshipped_function_import_found_through_helper(
    write_app: Callable[..., Path],
) -> None:
    app = load(
        write_app,
        HELPER_FUNCTION_APP,
        unshipped_functions="def compute() -> int:\n    return 2\n",
    )

    with pytest.raises(FalMissingDependencyError, match="'unshipped_functions'"):
        build_register_request(app)


def test_deploy_shipped_local_module_passes(write_app: Callable[..., Path]) -> None:
    source = UNSHIPPED_APP.replace(
        "class Uses(fal.App):",
        "class Uses(fal.App):\n    local_python_modules = ['shipped_helpers']",
    ).replace("unshipped_helpers", "shipped_helpers")
    app = load(write_app, source, shipped_helpers="VALUE = 1\n")

    request = build_register_request(app)

    assert request.serialized_function


def test_missing_dependency_is_reported_with_module(
    write_app: Callable[..., Path],
) -> None:
    app = load(write_app, YAML_APP.format(requirements="[]"))

    missing = find_missing_dependencies([app], [], [app.__module__])
    warnings = missing_dependency_warnings(app)

    assert missing == [("pyyaml", ["yaml"])]
    assert "imports yaml (from the package 'pyyaml')" in warnings[0]


def test_required_dependency_is_not_reported(write_app: Callable[..., Path]) -> None:
    app = load(write_app, YAML_APP.format(requirements='["PyYAML>=6"]'))

    assert missing_dependency_warnings(app) == []


def test_runtime_packages_are_not_reported(write_app: Callable[..., Path]) -> None:
    source = UNSHIPPED_APP.replace("import unshipped_helpers", "import pydantic")
    app = load(write_app, source.replace("unshipped_helpers.VALUE", "pydantic.VERSION"))

    assert missing_dependency_warnings(app) == []


def test_python_version_defaults_to_deploying_interpreter(
    write_app: Callable[..., Path],
) -> None:
    import sys

    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    app = load(write_app, PINNED_APP.format(version=current))

    assert build_register_request(app).python_version == current


def test_python_version_pin_to_other_minor_is_refused(
    write_app: Callable[..., Path],
) -> None:
    app = load(write_app, PINNED_APP.format(version="3.8"))

    with pytest.raises(ValueError, match=r"pins python_version='3.8' but is deployed"):
        build_register_request(app)


def test_python_version_pin_malformed_is_refused(
    write_app: Callable[..., Path],
) -> None:
    app = load(write_app, PINNED_APP.format(version="three"))

    with pytest.raises(ValueError, match=r"such as '3\.11'"):
        build_register_request(app)


def test_container_app_sends_image_without_secret_values(
    write_app: Callable[..., Path],
) -> None:
    app = load(write_app, CONTAINER_APP)

    request = build_register_request(app, no_cache=True)

    image = json.loads(request.container_image_json)
    assert image["dockerfile_str"] == "FROM python:3.11\n"
    assert image["secrets"] == ["TOKEN"]
    assert "s3cr3t" not in request.container_image_json
    assert request.no_cache is True


def test_container_kind_without_image_is_refused(
    write_app: Callable[..., Path],
) -> None:
    source = CONTAINER_APP.replace(
        "    image = ContainerImage", "    _x = ContainerImage"
    )
    app = load(write_app, source)

    with pytest.raises(ValueError, match="kind='container' but no image"):
        build_register_request(app)


LOCAL_PATH_APP = """
import fal


class LocalPkg(fal.App):
    requirements = [{requirement!r}, "six"]

    @fal.endpoint("/")
    def run(self) -> dict:
        return {{}}
"""


def test_pack_directory_same_tree_gives_same_bytes(tmp_path: Path) -> None:
    from fal._private.local_requirements import pack_directory

    package = tmp_path / "mypkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__pycache__" / "x.pyc").write_bytes(b"stale")
    (package / "mod.py").write_text("A = 1\n")
    pack_directory(package, tmp_path / "first.tar")
    os.utime(package / "mod.py", (1, 1))
    (package / "__pycache__" / "x.pyc").write_bytes(b"other")
    pack_directory(package, tmp_path / "second.tar")
    (package / "mod.py").write_text("A = 2\n")
    pack_directory(package, tmp_path / "changed.tar")

    first = (tmp_path / "first.tar").read_bytes()
    assert first == (tmp_path / "second.tar").read_bytes()
    assert first != (tmp_path / "changed.tar").read_bytes()
    assert b"x.pyc" not in first


@pytest.mark.parametrize(
    ("requirement", "local"),
    [
        ("./pkg", True),
        ("../pkg", True),
        ("/abs/pkg", True),
        ("~/pkg", True),
        ("dist/pkg-1.0-py3-none-any.whl", True),
        ("six>=1.0", False),
        ("pkg @ https://example.com/pkg-1.0-py3-none-any.whl", False),
        ("numpy[extra]", False),
    ],
)
def test_is_local_requirement_classifies(requirement: str, local: bool) -> None:
    from fal._private.local_requirements import is_local_requirement

    assert is_local_requirement(requirement) is local


def test_missing_local_path_requirement_is_refused(
    write_app: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = load(write_app, LOCAL_PATH_APP.format(requirement="./nowhere"))

    with pytest.raises(ValueError, match=r"'\./nowhere' names a local path"):
        build_register_request(app)


def test_local_path_requirement_without_filestore_is_refused(
    write_app: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mypkg").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAL_FILESTORE_URL", raising=False)
    monkeypatch.delenv("FAL_PROFILE", raising=False)
    monkeypatch.setenv("FAL_CONFIG_PATH", str(tmp_path / "empty-config.toml"))
    app = load(write_app, LOCAL_PATH_APP.format(requirement="./mypkg"))

    with pytest.raises(ValueError, match="No filestore is configured") as caught:
        build_register_request(app)

    assert "'./mypkg' names a local path" in str(caught.value)
