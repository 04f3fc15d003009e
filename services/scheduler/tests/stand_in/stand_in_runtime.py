"""A stand-in for ``python -m fal._runtime`` that speaks the runner contract.

The payload is JSON instead of a pickled App:
``{"setup_seconds": float, "setup_error": str | null}``. Only the standard
library is used so that it runs in any interpreter.

Routes: ``GET /health``; ``POST /`` echoes the request as JSON;
``POST /raw`` returns the body with its content type; ``POST /fail`` 500;
``POST /invalid`` 422; ``POST /slow`` sleeps ``{"seconds": n}``;
``POST /exit`` ends the process; ``POST /flaky`` with
``{"marker": path, "status": n}`` fails once (answers ``n``, or dies when
``n`` is 0) and succeeds once ``marker`` exists. ``GET`` of the payload's
``health_path`` answers 503 once its ``unhealthy_marker`` file (``{runner_id}``
filled in) exists. Every answered request id
is appended to ``$STAND_IN_LEDGER`` when that is set. SIGTERM stops
accepting, finishes in-flight requests and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Handler(BaseHTTPRequestHandler):
    spec: dict = {}

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == self.spec.get("health_path"):
            marker = str(self.spec.get("unhealthy_marker"))
            runner_id = os.environ["FAL_RUNNER_ID"]
            sick = Path(marker.format(runner_id=runner_id)).exists()
            self._json(503 if sick else 200, {"healthy": not sick})
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        route = self.path.split("?")[0]
        if route == "/":
            self._json(
                200,
                {
                    "body": body.decode(),
                    "content_type": self.headers.get("content-type"),
                    "request_id": self.headers.get("x-fal-request-id"),
                    "runner_id": os.environ.get("FAL_RUNNER_ID"),
                    "app": [
                        os.environ.get("FAL_APP_OWNER"),
                        os.environ.get("FAL_APP_ALIAS"),
                        os.environ.get("FAL_APP_REVISION"),
                    ],
                    "parent_pid": os.environ.get("FAL_PARENT_PID"),
                },
            )
        elif route == "/raw":
            self._send(200, body, self.headers.get("content-type") or "")
        elif route == "/fail":
            self._json(
                500,
                {"detail": "boom", "error_type": "ValueError"},
                {"x-fal-error-type": "ValueError"},
            )
        elif route == "/invalid":
            detail = [{"loc": ["body", "prompt"], "msg": "Field required"}]
            self._json(422, {"detail": detail})
        elif route == "/slow":
            print(f"sleeping for {self.headers.get('x-fal-request-id')}", flush=True)
            time.sleep(float(json.loads(body or b"{}").get("seconds", 1)))
            self._json(200, {"slept": True, "runner_id": os.environ["FAL_RUNNER_ID"]})
        elif route == "/flaky":
            self._flaky(json.loads(body))
        elif route == "/exit":
            os._exit(1)
        else:
            self._json(404, {"detail": "Not Found"})

    def _flaky(self, spec: dict[str, object]) -> None:
        marker = Path(str(spec["marker"]))
        if not marker.exists():
            marker.write_text(os.environ["FAL_RUNNER_ID"])
            if not spec.get("status"):
                os._exit(1)
            self._json(int(str(spec["status"])), {"detail": "flaky failure"})
            return
        self._json(200, {"runner_id": os.environ["FAL_RUNNER_ID"]})

    def _json(
        self, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        ledger = os.environ.get("STAND_IN_LEDGER")
        if ledger and status < 400 and self.command == "POST":
            with open(ledger, "a") as out:
                out.write(f"{self.headers.get('x-fal-request-id')}\n")

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("request: " + (format % args) + "\n")


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payload", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--status-file", required=True)
    args = parser.parse_args()
    spec = json.loads(Path(args.payload).read_text())
    Handler.spec = spec

    threading.Thread(
        target=_exit_with_parent, args=(int(os.environ["FAL_PARENT_PID"]),), daemon=True
    ).start()

    print("setup", flush=True)
    time.sleep(float(spec.get("setup_seconds", 0)))
    if spec.get("setup_error"):
        status = {
            "state": "setup_failed",
            "error_type": "RuntimeError",
            "message": spec["setup_error"],
            "traceback": "Traceback (most recent call last): ...",
        }
        Path(args.status_file).write_text(json.dumps(status))
        print(f"RuntimeError: {spec['setup_error']}", file=sys.stderr)
        sys.exit(3)

    ThreadingHTTPServer.daemon_threads = False  # join in-flight requests
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)

    def on_sigterm(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    server.serve_forever()
    server.server_close()
    print("terminated cleanly", flush=True)


if __name__ == "__main__":
    main()
