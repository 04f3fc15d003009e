"""Deploy time with a cold and a cached environment, next to uv alone.

Brings the platform up in a temporary home and, in the same run:

- ``uv_alone``: ``uv venv`` plus ``uv pip install`` of the requirements into
  a fresh directory, with the same index flags the scheduler uses (baseline);
- ``deploy_cold``: ``fal deploy`` of an app with those requirements when no
  environment for them exists;
- ``deploy_cached``: the same deploy again (no install at all): the fixed
  cost of a deploy (CLI start, loading and pickling the app, registry);
- ``build_part``: ``deploy_cold - deploy_cached``, the environment build as
  the deploy sees it, i.e. the work comparable to ``uv_alone`` (it also
  installs the fal runtime's dependencies, which uv alone does not).

Every measurement shares uv's package cache, so "cold" means "environment
not built", not "nothing downloaded". Prints one JSON object with the ratios
to the baseline; ``--output FILE`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fal_platform.testing import start_platform
from fal_scheduler.pipconfig import IndexSettings

DEFAULT_REQUIREMENTS = ["numpy", "pyyaml", "requests"]

APP = """
import fal


class BenchEnv(fal.App, keep_alive=5):
    app_name = "bench-env"
    requirements = {requirements!r}

    @fal.endpoint("/")
    def run(self) -> dict:
        return {{}}
"""


def uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def time_uv_alone(directory: Path, requirements: list[str]) -> float:
    """Seconds to create a venv and install ``requirements`` with uv alone."""
    uv = uv_binary()
    environ = {**os.environ, "NO_COLOR": "1"}
    environ.pop("VIRTUAL_ENV", None)
    flags = IndexSettings.from_pip().uv_flags()
    began = time.perf_counter()
    run([uv, "venv", "--relocatable", "--python", sys.executable, str(directory)])
    python = str(directory / "bin" / "python")
    run([uv, "pip", "install", "--python", python, *flags, *requirements], environ)
    return time.perf_counter() - began


def run(command: list[str], environ: dict[str, str] | None = None) -> None:
    subprocess.run(command, check=True, capture_output=True, env=environ)


def time_deploy(running: object, app: Path, *extra: str) -> tuple[float, str]:
    began = time.perf_counter()
    result = running.fal("deploy", str(app), "--json", *extra)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"deploy failed:\n{result.stderr}")
    return elapsed, result.stderr


def measure(requirements: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fal-bench-env-") as scratch:
        root = Path(scratch)
        # Warm uv's cache first, so that every measurement below reads it.
        time_uv_alone(root / "warmup", requirements)
        uv_alone = time_uv_alone(root / "uv-alone", requirements)

        app = root / "bench_env.py"
        app.write_text(APP.format(requirements=requirements))
        running = start_platform(root / "home")
        try:
            # A throwaway deploy first, so that the fal runtime's own
            # dependencies are in uv's cache like the requirements are.
            warm_app = root / "warm_env.py"
            warm_app.write_text(APP.format(requirements=[]))
            time_deploy(running, warm_app)
            cold, cold_log = time_deploy(running, app)
            cached, cached_log = time_deploy(running, app)
        finally:
            running.platform.stop()
        build = cold - cached

    return {
        "benchmark": "env_build",
        "requirements": requirements,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "seconds": {
            "uv_alone": round(uv_alone, 3),
            "deploy_cold": round(cold, 3),
            "deploy_cached": round(cached, 3),
            "build_part": round(build, 3),
        },
        "ratios": {
            "deploy_cold_over_uv_alone": round(cold / uv_alone, 3),
            "build_part_over_uv_alone": round(build / uv_alone, 3),
            "deploy_cached_over_uv_alone": round(cached / uv_alone, 3),
        },
        "cached_deploy_installed_nothing": "installing" not in cached_log,
        "cold_deploy_installed": "installing" in cold_log,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requirement",
        action="append",
        dest="requirements",
        help=f"a requirement to install (repeat; default {DEFAULT_REQUIREMENTS})",
    )
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    report = measure(args.requirements or DEFAULT_REQUIREMENTS)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
