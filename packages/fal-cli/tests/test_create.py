"""``fal create`` and ``fal deploy NAME`` resolution, without a platform."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from fal.cli import main
from fal.utils import load_function_from


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("FAL_CONFIG_PATH", str(config))
    for name in ("FAL_KEY", "FAL_PROFILE", "FAL_HOST", "FAL_GRPC_HOST", "FAL_RUN_URL"):
        monkeypatch.delenv(name, raising=False)
    return config


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0)


def test_create_writes_project_from_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("create", "image-tagger", "--dir", str(tmp_path), "--json")

    result = json.loads(capsys.readouterr().out)
    project = tmp_path / "image-tagger"
    config = tomllib.loads((project / "pyproject.toml").read_text())
    loaded = load_function_from(None, str(project / "app.py"))
    assert code == 0
    assert result["files"] == ["README.md", "app.py", "pyproject.toml"]
    assert config["tool"]["fal"]["apps"]["image-tagger"]["ref"] == "app.py::ImageTagger"
    assert loaded.function.__name__ == "ImageTagger"
    assert loaded.app_name == "image-tagger"
    assert loaded.endpoints == ["/"]


def test_create_invalid_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("create", "bad--name", "--dir", str(tmp_path))

    assert code == 1
    assert "'bad--name' is not a valid app name" in capsys.readouterr().err
    assert not (tmp_path / "bad--name").exists()


def test_create_into_non_empty_directory_keeps_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "mine"
    project.mkdir()
    (project / "app.py").write_text("# mine")

    code = run_cli("create", "mine", "--dir", str(tmp_path))

    assert code == 1
    assert "is not empty" in capsys.readouterr().err
    assert (project / "app.py").read_text() == "# mine"


def test_deploy_unknown_pyproject_app_lists_declared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fal.apps.one]\nref = "a.py"\n[tool.fal.apps.two]\nref = "b.py"\n'
    )
    monkeypatch.chdir(tmp_path)

    code = run_cli("deploy", "three")

    err = capsys.readouterr().err
    assert code == 1
    assert "no app 'three'" in err
    assert "one, two" in err


def test_deploy_name_without_pyproject_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # the project root, holding no pyproject.toml

    code = run_cli("deploy", "greeter")

    assert code == 1
    assert "no pyproject.toml" in capsys.readouterr().err
