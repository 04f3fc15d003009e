"""Translating pip's configuration into uv flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fal_scheduler.pipconfig import IndexSettings, parse_pip_config_list

THIS_MACHINE_LISTING = """\
:env:.cert='/etc/ssl/certs/ca-certificates.crt'
:env:.find-links='/opt/wheels'
global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/opt/wheels /elsewhere'
"""


def test_parse_config_list_env_section_wins() -> None:
    options = parse_pip_config_list(THIS_MACHINE_LISTING)

    assert options == {
        "constraint": "/etc/xdg/pip/constraints.txt",
        "extra-index-url": "file:///opt/pypi/simple file:///opt/pypi-more/simple",
        "find-links": "/opt/wheels",
    }


def test_uv_flags_from_config_list_with_several_indexes() -> None:
    settings = IndexSettings.from_options(parse_pip_config_list(THIS_MACHINE_LISTING))

    assert settings.uv_flags() == [
        "--extra-index-url", "file:///opt/pypi/simple",
        "--extra-index-url", "file:///opt/pypi-more/simple",
        "--find-links", "/opt/wheels",
        "--constraint", "/etc/xdg/pip/constraints.txt",
        "--index-strategy", "unsafe-best-match",
    ]  # fmt: skip


def test_uv_flags_single_index_keeps_uv_default_strategy() -> None:
    settings = IndexSettings.from_options({"index-url": "https://mirror/simple"})

    assert settings.uv_flags() == ["--index-url", "https://mirror/simple"]


def test_uv_flags_no_index() -> None:
    settings = IndexSettings.from_options({"no-index": "true", "find-links": "/w"})

    assert settings.uv_flags() == ["--no-index", "--find-links", "/w"]


def test_from_pip_environment_variables_override(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    environ = {
        "PIP_INDEX_URL": "https://mirror.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://a/simple https://b/simple",
        "PIP_FIND_LINKS": "/wheels",
        "PIP_CONSTRAINT": "/c.txt",
        "HOME": "/nonexistent",
    }
    settings = IndexSettings.from_pip(environ)

    assert settings.index_url == "https://mirror.example/simple"
    assert settings.extra_index_urls == ("https://a/simple", "https://b/simple")
    assert settings.find_links == ("/wheels",)
    assert settings.constraints == ("/c.txt",)
    assert "unsafe-best-match" in settings.uv_flags()


def test_machine_pip_config_resolves_torch_to_cpu_wheel(tmp_path: Path) -> None:
    from uv import find_uv_bin

    settings = IndexSettings.from_pip()
    completed = subprocess.run(
        [find_uv_bin(), "pip", "install", "--dry-run", "--python", sys.executable,
         *settings.uv_flags(), "torch==2.13.0"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert "torch==2.13.0+cpu" in completed.stderr + completed.stdout
