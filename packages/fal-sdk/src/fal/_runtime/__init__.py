"""The runner runtime: serve one pickled App over HTTP.

Run as ``python -m fal._runtime --payload FILE --port PORT``. The payload is
``cloudpickle.dumps(AppSubclass)``. The runtime writes the app's deployed
files into its working directory, instantiates the class, runs ``setup()``
and only then listens, so a refused connection means "not ready".
When setup fails it writes the error to ``--status-file`` and exits with
``SETUP_FAILED_EXIT_CODE``. On SIGTERM (or when the process named by
``FAL_PARENT_PID`` is gone) it stops accepting, finishes the requests in
flight, then calls ``handle_exit()`` and ``teardown()``.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import uvicorn

from fal._private.app import App
from fal._private.app_files import materialize_into_working_dir
from fal._private.serving import build_fastapi_app
from fal._runtime.logs import capture_output

__all__ = ["SETUP_FAILED_EXIT_CODE", "build_fastapi_app", "load_app_class", "main"]

logger = logging.getLogger("fal.runtime")

SETUP_FAILED_EXIT_CODE = 3
PARENT_POLL_SECONDS = 1.0


class SetupFailed(Exception):
    """Loading, instantiating or setting up the app raised."""


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the app in ``--payload`` until told to stop; return the exit code."""
    args = _parse_arguments(argv)
    capture_output(logging.INFO)
    watch_parent_process(os.environ.get("FAL_PARENT_PID"), _exit_now)
    try:
        asyncio.run(_serve(args))
    except SetupFailed as failure:
        cause = failure.__cause__ or failure
        _report_setup_failure(cause, args.status_file)
        return SETUP_FAILED_EXIT_CODE
    return 0


def load_app_class(payload: Path) -> type[App]:
    """Read a pickled App subclass from ``payload``."""
    app_class = cloudpickle.loads(payload.read_bytes())
    if not (isinstance(app_class, type) and issubclass(app_class, App)):
        raise TypeError(
            f"The payload {payload} holds {app_class!r}, not a subclass of fal.App."
        )
    return app_class


def watch_parent_process(parent_pid: str | None, on_gone: Callable[[], None]) -> None:
    """Call ``on_gone`` from a daemon thread once ``parent_pid`` has exited."""
    if not parent_pid:
        return
    pid = int(parent_pid)
    started_as_child = os.getppid() == pid

    def poll() -> None:
        stop = threading.Event()
        while not stop.wait(PARENT_POLL_SECONDS):
            if not _process_alive(pid) or (started_as_child and os.getppid() != pid):
                logger.info("Parent process %d is gone; stopping", pid)
                on_gone()
                return

    threading.Thread(target=poll, name="fal-parent-watch", daemon=True).start()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fal._runtime")
    parser.add_argument("--payload", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--status-file", type=Path, default=None)
    return parser.parse_args(argv)


# Set while uvicorn serves, so that SIGTERM and the parent watcher can ask it
# to drain instead of dying at once.
_server: uvicorn.Server | None = None


def _exit_now() -> None:
    if _server is not None:
        _server.should_exit = True
    else:
        # Still in setup: nothing is in flight, so the default action is right.
        os.kill(os.getpid(), signal.SIGTERM)


async def _serve(args: argparse.Namespace) -> None:
    global _server

    # Load and set up the app before listening.
    try:
        app_class = load_app_class(args.payload)
        await asyncio.to_thread(materialize_into_working_dir, app_class)
        instance = app_class(_allow_init=True)
        await _call(instance.setup)
    except Exception as exc:
        raise SetupFailed() from exc

    # Serve until SIGTERM; uvicorn stops accepting and drains in flight.
    config = uvicorn.Config(
        build_fastapi_app(instance),
        host=args.host,
        port=args.port,
        log_level="info",
        # uvicorn's loggers propagate to the root's JSON handler.
        log_config=None,
        lifespan="off",
    )
    _server = uvicorn.Server(config)
    # uvicorn re-raises the signal it caught once it is done; a handler of
    # our own keeps that from killing the process before teardown.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _request_drain)
    logger.info("Serving %s on %s:%d", type(instance).__name__, args.host, args.port)
    try:
        await _server.serve()
    finally:
        _server = None

    # Let the app notice the exit, then release its resources.
    await _call(instance.handle_exit)
    await _call(instance.teardown)
    logger.info("Stopped")


def _request_drain(signum: int, frame: Any) -> None:
    if _server is not None:
        _server.should_exit = True


async def _call(method: Callable[[], Any]) -> Any:
    """Run a sync method on a worker thread, or await an async one."""
    if inspect.iscoroutinefunction(method):
        return await method()
    result = await asyncio.to_thread(method)
    if inspect.isawaitable(result):
        result = await result
    return result


def _report_setup_failure(error: BaseException, status_file: Path | None) -> None:
    formatted = "".join(traceback.format_exception(error))
    print(formatted, file=sys.stderr, flush=True)
    if status_file is None:
        return
    status = {
        "state": "setup_failed",
        "error_type": type(error).__name__,
        "message": str(error),
        "traceback": formatted,
    }
    status_file.parent.mkdir(parents=True, exist_ok=True)
    status_file.write_text(json.dumps(status))
