"""``fal-platform demo``: the whole user journey on a real model, then clean up.

Brings the platform up in a temporary home on free ports, deploys
``examples/text_embeddings.py`` with the ``fal`` command (build progress is
shown as it happens), calls the app through its sync URL and through
``fal.apps.run``, prints what came back and stops every process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console

from fal_platform.platform import Endpoints, LocalPlatform, PlatformError, Ports

console = Console(soft_wrap=True)

SENTENCES = [
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "Quantum computers use qubits.",
]
QUERY = "Someone is having a meal."
CANDIDATES = [
    "A man is eating food.",
    "The stock market fell sharply today.",
    "A cheetah runs across the savanna.",
]


def find_example(name: str) -> Path:
    """Find ``examples/<name>`` from the current directory or the workspace."""
    candidates = [Path.cwd() / "examples" / name]
    candidates += [parent / "examples" / name for parent in Path(__file__).parents]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise PlatformError(
        f"examples/{name} was not found; run the demo from the repository."
    )


def run_demo(app_file: Path | None = None) -> int:
    app_file = app_file or find_example("text_embeddings.py")
    with tempfile.TemporaryDirectory(prefix="fal-platform-demo-") as temp:
        home = Path(temp)
        config_path = home / "fal-config.toml"
        platform = LocalPlatform(
            home=home, ports=Ports(0, 0, 0, 0), config_path=config_path
        )
        console.rule("1. Platform up")
        with console.status("Starting nats-server, registry, filestore, scheduler"):
            endpoints = platform.start()
        console.print(f"gateway {endpoints.gateway_url}, home {home}")
        try:
            return _journey(app_file, endpoints, config_path, platform.admin_key())
        finally:
            console.rule("5. Platform down")
            platform.stop()
            console.print("every process stopped")


def _journey(app_file: Path, endpoints: Endpoints, config: Path, key: str) -> int:
    env = {**os.environ, "FAL_CONFIG_PATH": str(config), "FAL_PROFILE": "local"}

    console.rule(f"2. fal deploy {app_file.name}")
    console.print(
        "The first deploy builds the app's environment with uv; later ones reuse it."
    )
    started = time.monotonic()
    deployed = subprocess.run(
        [sys.executable, "-m", "fal.cli", "deploy", str(app_file), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if deployed.returncode != 0:
        console.print(f"[red]deploy failed (exit {deployed.returncode})[/red]")
        return 1
    result = json.loads(deployed.stdout)
    console.print(
        f"deployed revision {result['revision']} in {time.monotonic() - started:.1f}s"
    )
    run_url = result["urls"]["run"]
    app_id = f"{result['owner']}/{result['app_name']}"

    console.rule(
        "3. POST the sync URL (cold start: a runner starts and loads the model)"
    )
    started = time.monotonic()
    response = httpx.post(
        f"{run_url}/embed",
        json={"texts": SENTENCES},
        headers={"Authorization": f"Key {key}"},
        timeout=900,
    )
    response.raise_for_status()
    embedded = response.json()
    elapsed = time.monotonic() - started
    console.print(f"POST {run_url}/embed -> {response.status_code} in {elapsed:.1f}s")
    console.print(f"model {embedded['model']}, {embedded['dimensions']} dimensions")
    for text, vector in zip(SENTENCES, embedded["embeddings"], strict=True):
        preview = ", ".join(f"{value:+.3f}" for value in vector[:4])
        console.print(f"  {text!r}: [{preview}, ...] ({len(vector)} values)")

    console.rule("4. fal.apps.run (warm runner)")
    os.environ.update({"FAL_CONFIG_PATH": str(config), "FAL_PROFILE": "local"})
    import fal.apps

    started = time.monotonic()
    ranked = fal.apps.run(
        app_id, {"query": QUERY, "candidates": CANDIDATES}, path="/rank"
    )
    console.print(
        f"fal.apps.run({app_id!r}, path='/rank') in {time.monotonic() - started:.2f}s"
    )
    console.print(f"query: {QUERY!r}")
    for place, item in enumerate(ranked["ranking"], start=1):
        console.print(f"  {place}. {item['score']:.3f}  {item['text']}")
    return 0
