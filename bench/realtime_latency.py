"""Realtime round-trip latency and frame rate through the gateway vs. direct.

Brings the platform up in a temporary home, deploys a small realtime app
(msgpack frames, written below) and measures, in the same run, through the
gateway's websocket relay and straight to a runner process started from the
same environment and payload (the baseline):

- session open: websocket upgrade time (the gateway also resolves the app,
  authorizes and leases a runner slot);
- round trip: one msgpack frame to a unary ``@fal.realtime`` echo and its
  reply, p50/p99 over ``--frames`` sequential frames in one session;
- frames per second: one input to a server-streaming endpoint that answers
  ``--burst`` frames of ``--frame-bytes`` bytes each.

Prints one JSON object; ``--output FILE`` also writes it to a file.

    hatch run python bench/realtime_latency.py --output realtime.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
from sync_latency import start_direct_runner, summarize
from websockets.sync.client import ClientConnection, connect

from fal_platform.testing import start_platform

APP_SOURCE = """
from collections.abc import AsyncIterator

from pydantic import BaseModel

import fal


class Prompt(BaseModel):
    text: str


class Burst(BaseModel):
    count: int
    size: int


class Frame(BaseModel):
    index: int
    data: bytes


class RealtimeBench(fal.App, keep_alive=600, max_multiplexing=4):
    app_name = "realtime-bench"
    app_auth = "public"

    @fal.realtime("/echo")
    async def echo(self, prompt: Prompt) -> Prompt:
        return prompt

    @fal.realtime("/frames")
    async def frames(self, burst: Burst) -> AsyncIterator[Frame]:
        data = bytes(burst.size)
        for index in range(burst.count):
            yield Frame(index=index, data=data)
"""


def open_connection(url: str) -> ClientConnection:
    return connect(url, open_timeout=300, compression=None, max_size=None)


def time_session_opens(url: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        with open_connection(url):
            samples.append(time.perf_counter() - began)
    return samples


def time_round_trips(url: str, count: int, warmup: int = 20) -> list[float]:
    samples = []
    with open_connection(url) as connection:
        for index in range(warmup + count):
            frame = msgpack.packb({"text": f"bench-{index}"})
            began = time.perf_counter()
            connection.send(frame)
            reply = msgpack.unpackb(connection.recv(timeout=60))
            elapsed = time.perf_counter() - began
            if reply != {"text": f"bench-{index}"}:
                raise SystemExit(f"Unexpected realtime reply: {reply!r}")
            if index >= warmup:
                samples.append(elapsed)
    return samples


def measure_frame_rate(url: str, burst: int, frame_bytes: int) -> dict[str, float]:
    with open_connection(url) as connection:
        # One small burst first: the session and the handler are warm.
        connection.send(msgpack.packb({"count": 10, "size": frame_bytes}))
        for _ in range(10):
            connection.recv(timeout=60)
        began = time.perf_counter()
        connection.send(msgpack.packb({"count": burst, "size": frame_bytes}))
        last: Any = None
        for _ in range(burst):
            last = connection.recv(timeout=60)
        elapsed = time.perf_counter() - began
    if msgpack.unpackb(last)["index"] != burst - 1:
        raise SystemExit("The frame burst arrived incomplete or out of order.")
    return {
        "frames_per_second": round(burst / elapsed, 1),
        "megabytes_per_second": round(burst * frame_bytes / elapsed / 1e6, 2),
    }


def measure(base: str, args: argparse.Namespace) -> dict[str, Any]:
    opens = summarize(time_session_opens(base + "/echo", args.opens))
    round_trips = summarize(time_round_trips(base + "/echo", args.frames))
    rate = measure_frame_rate(base + "/frames", args.burst, args.frame_bytes)
    return {"session_open": opens, "round_trip": round_trips, **rate}


def ratio(gateway: float, direct: float) -> float:
    return round(gateway / direct, 3) if direct else float("inf")


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fal-bench-") as temp:
        app_file = Path(temp) / "realtime_bench.py"
        app_file.write_text(APP_SOURCE)
        running = start_platform(Path(temp) / "home")
        try:
            deployed = running.fal("deploy", str(app_file), "--json")
            if deployed.returncode != 0:
                raise SystemExit(deployed.stderr)
            run_url = json.loads(deployed.stdout)["urls"]["run"]
            gateway_base = "ws://" + run_url.removeprefix("http://")
            began = time.perf_counter()
            time_round_trips(gateway_base + "/echo", 1, warmup=0)  # cold start
            cold = time.perf_counter() - began
            gateway = measure(gateway_base, args)
            runner, direct_url = start_direct_runner(running.home)
            try:
                direct_base = "ws://" + direct_url.removeprefix("http://").rstrip("/")
                direct = measure(direct_base, args)
            finally:
                runner.terminate()
                runner.wait()
        finally:
            running.platform.stop()
    return {
        "benchmark": "realtime_latency",
        "frames": args.frames,
        "burst": args.burst,
        "frame_bytes": args.frame_bytes,
        "cold_start_s": round(cold, 3),
        "gateway": gateway,
        "direct_runner": direct,
        "ratio_gateway_to_direct": {
            "session_open_p50": ratio(
                gateway["session_open"]["p50_ms"], direct["session_open"]["p50_ms"]
            ),
            "round_trip_p50": ratio(
                gateway["round_trip"]["p50_ms"], direct["round_trip"]["p50_ms"]
            ),
            "round_trip_p99": ratio(
                gateway["round_trip"]["p99_ms"], direct["round_trip"]["p99_ms"]
            ),
            "frames_per_second": ratio(
                gateway["frames_per_second"], direct["frames_per_second"]
            ),
        },
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=500, help="round trips")
    parser.add_argument("--opens", type=int, default=50, help="sessions opened")
    parser.add_argument("--burst", type=int, default=2000, help="streamed frames")
    parser.add_argument("--frame-bytes", type=int, default=16384)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    report = run(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
