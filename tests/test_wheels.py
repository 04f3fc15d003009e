"""Every package and service builds its own wheel, and the wheels import together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from uv import find_uv_bin

from fal_platform.testing import REPO

MEMBERS = [
    "proto",
    "packages/fal-sdk",
    "packages/fal-cli",
    "packages/fal-toolkit",
    "packages/fal-distributed",
    "services/registry",
    "services/scheduler",
    "services/filestore",
    "services/platform",
]


def _uv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_uv_bin(), *args], capture_output=True, text=True, check=False, timeout=600
    )


def test_wheels_build_install_and_import_together(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for member in MEMBERS:
        built = _uv("build", "--wheel", "--out-dir", str(dist), str(REPO / member))
        assert built.returncode == 0, f"{member}: {built.stderr}"
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == len(MEMBERS)

    venv = tmp_path / "venv"
    assert _uv("venv", "--python", sys.executable, str(venv)).returncode == 0
    python = venv / "bin" / "python"
    installed = _uv(
        "pip", "install", "--python", str(python), "--find-links", str(dist),
        *map(str, wheels),
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr

    probe = subprocess.run(
        [str(python), "-c",
         "import fal, fal.cli, fal.toolkit, fal.distributed, fal.sdk, fal.apps;"
         "import fal_registry, fal_scheduler, fal_filestore, fal_platform;"
         "print(fal.App.__name__, fal.cli.__name__, fal.toolkit.__name__)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["App", "fal.cli", "fal.toolkit"]
    assert (venv / "bin" / "fal").exists()
    assert (venv / "bin" / "fal-platform").exists()

    # The `fal create` template ships inside the fal-cli wheel.
    created = subprocess.run(
        [str(venv / "bin" / "fal"), "create", "wheel-app", "--dir", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "wheel-app" / "app.py").exists()
