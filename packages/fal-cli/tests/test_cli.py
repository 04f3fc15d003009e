from __future__ import annotations

import json
from pathlib import Path

import pytest

from fal.cli import main
from fal.cli._client import parse_app_ref
from fal.cli._console import CliError


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


def test_parse_app_ref_splits_file_and_class() -> None:
    assert parse_app_ref("app.py::Model") == ("app.py", "Model")
    assert parse_app_ref("app.py") == ("app.py", None)
    with pytest.raises(CliError, match="names no file"):
        parse_app_ref("::Model")


@pytest.mark.parametrize(
    ("source", "suffix", "expected"),
    [
        ("x = 1\n", "", "no fal.App"),
        ("import fal\n\nclass A(fal.App):\n    pass\n", "::B", "B"),
        ("def broken(:\n", "", "py:1: syntax error"),
    ],
)
def test_deploy_bad_file_exits_nonzero_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    suffix: str,
    expected: str,
) -> None:
    app_file = tmp_path / "my_app.py"
    app_file.write_text(source)

    code = run_cli("deploy", f"{app_file}{suffix}")

    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1
    assert len(lines) == 1, err
    assert "my_app.py" in lines[0]
    assert expected.lower() in lines[0].lower()


def test_profile_key_and_host_are_saved(
    isolated_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fal.config import Config

    config = Config(profile="local")
    config.set("host", "127.0.0.1:1")
    config.set_internal("profile", "local")
    config.save()

    assert run_cli("profile", "host", "127.0.0.1:7081") == 0
    assert run_cli("profile", "key", "abc:def") == 0
    assert run_cli("profile", "list", "--json") == 0

    listed = json.loads(capsys.readouterr().out.split("\n", 2)[-1])
    assert listed["profiles"] == [
        {
            "name": "local",
            "current": True,
            "host": "127.0.0.1:7081",
            "run_url": "",
            "has_key": True,
        }
    ]
    assert "def" not in isolated_config.read_text().replace("abc:def", "")


def test_profile_key_without_colon_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fal.config import Config

    config = Config(profile="local")
    config.set("host", "x")
    config.set_internal("profile", "local")
    config.save()

    assert run_cli("profile", "key", "no-colon") == 1
    assert "KEY_ID:KEY_SECRET" in capsys.readouterr().err


def test_profile_set_unknown_lists_known(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("profile", "set", "nope") == 1
    assert "nope" in capsys.readouterr().err


def test_doctor_reports_unreachable_registry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fal_platform.testing import free_port

    monkeypatch.setenv("FAL_HOST", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("FAL_KEY", "id:secret")

    assert run_cli("doctor", "--json") == 1

    report = json.loads(capsys.readouterr().out)
    assert report["registry"].startswith("error")
    assert report["fal-cli"] == "0.1.0"
    assert "secret" not in json.dumps(report).replace('"id:', "")
