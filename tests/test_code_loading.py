"""Environments and code loading through `fal` against a real platform."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from fal_platform.testing import RunningPlatform, free_port, wait_for_port

SIX_APP = """
import fal


class SixApp(fal.App, keep_alive=5):
    app_name = "{name}"
    app_auth = "public"
    requirements = {requirements!r}

    @fal.endpoint("/")
    def version(self) -> dict:
        import six

        return {{"six": six.__version__}}
"""

HELPER_APP = """
import fal
import greeting_helpers


class Helped(fal.App, keep_alive=5):
    app_name = "{name}"
    app_auth = "public"
    {local_modules}

    @fal.endpoint("/")
    def greet(self) -> dict:
        return {{"message": greeting_helpers.greet("runner")}}
"""

CONTAINER_APP = """
import fal
from fal.container import ContainerImage


class Boxed(fal.App, kind="container"):
    app_name = "boxed"
    image = ContainerImage.from_dockerfile_str("FROM python:3.11-slim\\n")

    @fal.endpoint("/")
    def run(self) -> dict:
        return {}
"""


def fal_cli(
    platform: RunningPlatform, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fal.cli", *args],
        env=platform.env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def deployed_names(platform: RunningPlatform) -> str:
    return fal_cli(platform, "apps", "list", "--json").stdout


def test_second_deploy_reuses_environment_and_no_cache_rebuilds(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    app = write(
        tmp_path, "six_app.py", SIX_APP.format(name="six", requirements=["six"])
    )

    first = fal_cli(platform, "deploy", str(app))
    second = fal_cli(platform, "deploy", str(app))
    rebuilt = fal_cli(platform, "deploy", str(app), "--no-cache", "--json")

    assert first.returncode == 0, first.stderr
    assert "Step 1: installing six" in first.stdout + first.stderr
    assert second.returncode == 0, second.stderr
    assert "Reusing environment" in second.stdout + second.stderr
    assert "installing" not in second.stdout + second.stderr
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Rebuilding environment" in rebuilt.stderr
    assert "Step 1: installing six" in rebuilt.stderr
    url = json.loads(rebuilt.stdout)["urls"]["run"]
    assert httpx.post(url, json={}, timeout=60).json()["six"]


def test_deploy_unsatisfiable_requirement_fails_and_registers_nothing(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    source = SIX_APP.format(name="broken-six", requirements=["six==99.0"])
    app = write(tmp_path, "broken.py", source)

    result = fal_cli(platform, "deploy", str(app))

    assert result.returncode != 0
    assert "step 1 (six==99.0) failed" in result.stderr
    assert "broken-six" not in deployed_names(platform)


def test_local_module_shipped_by_value_imports_in_runner(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    write(tmp_path, "greeting_helpers.py", "def greet(n):\n    return f'hi {n}'\n")
    source = HELPER_APP.format(
        name="helped", local_modules="local_python_modules = ['greeting_helpers']"
    )
    app = write(tmp_path, "helped.py", source)

    result = fal_cli(platform, "deploy", str(app), "--json")

    assert result.returncode == 0, result.stderr
    url = json.loads(result.stdout)["urls"]["run"]
    assert httpx.post(url, json={}, timeout=60).json() == {"message": "hi runner"}


def test_local_module_not_shipped_fails_deploy_naming_it(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    write(tmp_path, "greeting_helpers.py", "def greet(n):\n    return n\n")
    source = HELPER_APP.format(name="unhelped", local_modules="")
    app = write(tmp_path, "unhelped.py", source)

    result = fal_cli(platform, "deploy", str(app))

    assert result.returncode == 1
    assert "'greeting_helpers'" in result.stderr
    assert "local_python_modules" in result.stderr
    assert "unhelped" not in deployed_names(platform)


def test_missing_dependency_warns_at_deploy(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    source = SIX_APP.format(name="six-warned", requirements=[]).replace(
        "        import six\n", ""
    )
    app = write(tmp_path, "warned.py", "import six\n" + source)

    result = fal_cli(platform, "deploy", str(app))

    assert "Warning: SixApp imports six (from the package 'six')" in result.stderr


def test_container_app_refused_naming_backend(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    app = write(tmp_path, "boxed.py", CONTAINER_APP)

    result = fal_cli(platform, "deploy", str(app))

    assert result.returncode != 0
    assert "cannot run container images" in result.stderr
    assert "no such backend exists yet" in result.stderr
    assert "boxed" not in deployed_names(platform)


def test_create_then_deploy_by_pyproject_name(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    created = fal_cli(platform, "create", "hello-project", "--dir", str(tmp_path))
    project = tmp_path / "hello-project"
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"private"', '"public"'))

    result = fal_cli(platform, "deploy", "hello-project", "--json", cwd=project)

    assert created.returncode == 0, created.stderr
    assert result.returncode == 0, result.stderr
    url = json.loads(result.stdout)["urls"]["run"]
    answer = httpx.post(url, json={"name": "project"}, timeout=60).json()
    assert answer == {"message": "Hello, project!"}


def test_run_local_serves_app_without_platform(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    app = write(tmp_path, "six_local.py", SIX_APP.format(name="x", requirements=[]))
    port = free_port()
    command = [sys.executable, "-m", "fal.cli", "run", "--local", str(app)]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=platform.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, timeout=30)
        answer = httpx.post(f"http://127.0.0.1:{port}/", json={}, timeout=10).json()
    finally:
        os.kill(server.pid, signal.SIGINT)
        _, err = server.communicate(timeout=30)

    assert answer["six"]
    assert server.returncode == 0, err
    assert "six-local" not in deployed_names(platform)


LOCAL_PACKAGE_APP = """
import fal


class UsesLocal(fal.App, keep_alive=5):
    app_name = "{name}"
    app_auth = "public"
    requirements = ["./greetpkg"]

    @fal.endpoint("/")
    def word(self) -> dict:
        import greetpkg

        return {{"word": greetpkg.WORD}}
"""

LOCAL_PACKAGE_PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "greetpkg"
version = "0.1"
"""


def test_local_package_requirement_uploaded_and_changes_rebuild(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    package = tmp_path / "greetpkg"
    write(package, "pyproject.toml", LOCAL_PACKAGE_PYPROJECT)
    module = write(package / "src" / "greetpkg", "__init__.py", "WORD = 'one'\n")
    # The second app runs on the package as changed: were the environment
    # keyed by the path, it would reuse the first build and still say "one".
    first_app = write(tmp_path, "first.py", LOCAL_PACKAGE_APP.format(name="local-1"))
    second_app = write(tmp_path, "second.py", LOCAL_PACKAGE_APP.format(name="local-2"))

    first = fal_cli(platform, "deploy", str(first_app), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    url = json.loads(first.stdout)["urls"]["run"]
    before = httpx.post(url, json={}, timeout=60).json()
    module.write_text("WORD = 'two'\n")
    second = fal_cli(platform, "deploy", str(second_app), "--json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    url = json.loads(second.stdout)["urls"]["run"]
    after = httpx.post(url, json={}, timeout=60).json()

    assert before == {"word": "one"}
    assert "Step 1: installing " in first.stderr
    assert f"installing {package}" not in first.stderr
    assert "Reusing environment" not in second.stderr
    assert after == {"word": "two"}


def test_concurrent_deploys_of_one_new_environment_build_it_once(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    requirements = ["six", "idna"]
    apps = [
        write(
            tmp_path, f"{name}.py", SIX_APP.format(name=name, requirements=requirements)
        )
        for name in ("twin-one", "twin-two")
    ]
    scheduler_log = platform.home / "logs" / "scheduler.log"
    builds_before = scheduler_log.read_text().count("Building environment")

    deploys = [
        subprocess.Popen(
            [sys.executable, "-m", "fal.cli", "deploy", str(app)],
            env=platform.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for app in apps
    ]
    results = [deploy.communicate(timeout=600) for deploy in deploys]

    assert [deploy.returncode for deploy in deploys] == [0, 0], results
    outputs = [out + err for out, err in results]
    assert sum("Step 1: installing six idna" in text for text in outputs) == 1
    assert sum("Reusing environment" in text for text in outputs) == 1
    builds = scheduler_log.read_text().count("Building environment") - builds_before
    assert builds == 1


WHEEL_APP = """
import fal


class UsesWheel(fal.App, keep_alive=5):
    app_name = "uses-wheel"
    app_auth = "public"
    requirements = ["greetwheel-0.1-py3-none-any.whl"]

    @fal.endpoint("/")
    def word(self) -> dict:
        import greetwheel

        return {"word": greetwheel.WORD}
"""


def write_wheel(path: Path, module: str, source: str) -> None:
    info = f"{module}-0.1.dist-info"
    files = {
        f"{module}/__init__.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in {**files, f"{info}/RECORD": record}.items():
            wheel.writestr(name, text)


def test_local_wheel_requirement_uploaded_and_installed(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    wheel = tmp_path / "greetwheel-0.1-py3-none-any.whl"
    write_wheel(wheel, "greetwheel", "WORD = 'wheel'\n")
    app = write(tmp_path, "uses_wheel.py", WHEEL_APP)

    result = fal_cli(platform, "deploy", str(app), "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"installing {wheel}" not in result.stderr
    url = json.loads(result.stdout)["urls"]["run"]
    assert httpx.post(url, json={}, timeout=60).json() == {"word": "wheel"}
