"""Cold start and warm sync-run latency through the gateway, next to a direct call.

Brings the platform up in a temporary home, deploys ``examples/hello.py`` and
measures, in the same run:

- cold start: the first request on the deployed app with no runner;
- warm latency through the gateway (``POST /{owner}/{app}``);
- warm latency of the same request sent straight to a runner process started
  from the same environment and payload (the baseline).

Prints one JSON object; ``--output FILE`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fal_platform.testing import EXAMPLES, free_port, start_platform, wait_for_port


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 0.5) * 1000, 3),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
    }


def time_requests(client: httpx.Client, url: str, count: int) -> list[float]:
    samples = []
    for index in range(count):
        began = time.perf_counter()
        response = client.post(url, json={"name": f"bench-{index}"})
        samples.append(time.perf_counter() - began)
        response.raise_for_status()
    return samples


def start_direct_runner(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a runner by hand from the environment and payload the platform built."""
    env_dir = next(
        path for path in (home / "envs").iterdir() if (path / "bin").exists()
    )
    payload = next((home / "payloads").iterdir())
    port = free_port()
    process = subprocess.Popen(
        [str(env_dir / "bin" / "python"), "-m", "fal._runtime",
         "--payload", str(payload), "--port", str(port),
         "--status-file", str(home / "direct-runner.status")],
        env={**os.environ, "FAL_PARENT_PID": str(os.getpid())},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, timeout=120)
    return process, f"http://127.0.0.1:{port}/"


def run(requests: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fal-bench-") as temp:
        running = start_platform(Path(temp))
        try:
            deployed = running.fal("deploy", str(EXAMPLES / "hello.py"), "--json")
            if deployed.returncode != 0:
                raise SystemExit(deployed.stderr)
            url = json.loads(deployed.stdout)["urls"]["run"]
            with httpx.Client(timeout=300) as client:
                cold = time_requests(client, url, 1)[0]
                time_requests(client, url, 10)  # warm-up
                gateway = time_requests(client, url, requests)
                runner, direct_url = start_direct_runner(running.home)
                try:
                    time_requests(client, direct_url, 10)
                    direct = time_requests(client, direct_url, requests)
                finally:
                    runner.terminate()
                    runner.wait()
        finally:
            running.platform.stop()
    gateway_summary, direct_summary = summarize(gateway), summarize(direct)
    return {
        "benchmark": "sync_latency",
        "app": "examples/hello.py",
        "requests": requests,
        "cold_start_s": round(cold, 3),
        "gateway": gateway_summary,
        "direct_runner": direct_summary,
        "ratio_gateway_to_direct": {
            "p50": round(gateway_summary["p50_ms"] / direct_summary["p50_ms"], 3),
            "p99": round(gateway_summary["p99_ms"] / direct_summary["p99_ms"], 3),
        },
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    report = run(args.requests)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
