"""Queue overhead and scale-up time, next to sync calls measured in the same run.

Brings the platform up in a temporary home, deploys a small app and measures:

- sync: warm ``POST {gateway}/{owner}/{app}`` latency (the baseline);
- queue: warm submit → poll status → fetch result, end to end, for the same
  request (``queue_overhead_ratio`` = queue p50 / sync p50);
- scale-up: a burst of ``--burst`` queued requests on an app at zero runners
  with ``max_concurrency`` 4: time until every result is stored, next to the
  cold start of one request (``scale_up_ratio``).

Prints one JSON object; ``--output FILE`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from fal_platform.testing import EXAMPLES, RunningPlatform, start_platform

BURST_APP = """
import time

import fal


class Burst(fal.App, keep_alive=60, max_concurrency=4):
    app_name = "burst"
    app_auth = "public"

    @fal.endpoint("/")
    def work(self, seconds: float = 0.05) -> dict:
        time.sleep(seconds)
        return {"ok": True}
"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 0.5) * 1000, 3),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
    }


def queued_call(client: httpx.Client, url: str, body: dict[str, object]) -> float:
    began = time.perf_counter()
    submitted = client.post(url, json=body).json()
    wait_completed(client, [submitted["status_url"]], poll=0.005)
    client.get(submitted["response_url"]).raise_for_status()
    return time.perf_counter() - began


def wait_completed(client: httpx.Client, status_urls: list[str], poll: float) -> None:
    pending = list(status_urls)
    while pending:
        pending = [
            url for url in pending if client.get(url).json()["status"] != "COMPLETED"
        ]
        if pending:
            time.sleep(poll)


def run(requests: int, burst: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fal-bench-") as temp:
        running = start_platform(Path(temp))
        try:
            return measure(running, requests, burst, Path(temp))
        finally:
            running.platform.stop()


def measure(
    running: RunningPlatform, requests: int, burst: int, home: Path
) -> dict[str, object]:
    gateway = running.endpoints.gateway_url
    queue = running.endpoints.queue_url
    running.fal("deploy", str(EXAMPLES / "hello.py"), check=True)
    (home / "burst.py").write_text(BURST_APP)
    running.fal("deploy", str(home / "burst.py"), check=True)

    with httpx.Client(timeout=300) as client:
        # Warm the runner, then time sync and queued calls of the same request.
        client.post(f"{gateway}/local/hello", json={}).raise_for_status()
        sync = []
        for index in range(requests):
            began = time.perf_counter()
            client.post(f"{gateway}/local/hello", json={"name": f"s{index}"})
            sync.append(time.perf_counter() - began)
        queued = [
            queued_call(client, f"{queue}/local/hello", {"name": f"q{index}"})
            for index in range(requests)
        ]

        # Scale-up: a burst on an app with no runner.
        began = time.perf_counter()
        status_urls = [
            client.post(f"{queue}/local/burst", json={}).json()["status_url"]
            for _ in range(burst)
        ]
        wait_completed(client, status_urls, poll=0.05)
        burst_seconds = time.perf_counter() - began

        # Baseline of the burst: one cold request, on a fresh app.
        (home / "cold.py").write_text(BURST_APP.replace('"burst"', '"cold"'))
        running.fal("deploy", str(home / "cold.py"), check=True)
        began = time.perf_counter()
        client.post(f"{gateway}/local/cold", json={}).raise_for_status()
        cold_seconds = time.perf_counter() - began

    sync_stats, queue_stats = summarize(sync), summarize(queued)
    return {
        "requests": requests,
        "sync": sync_stats,
        "queue": queue_stats,
        "queue_overhead_ratio": round(queue_stats["p50_ms"] / sync_stats["p50_ms"], 3),
        "burst": {
            "requests": burst,
            "max_concurrency": 4,
            "seconds_to_all_results": round(burst_seconds, 3),
        },
        "cold_start_seconds": round(cold_seconds, 3),
        "scale_up_ratio": round(burst_seconds / cold_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    result = run(args.requests, args.burst)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
