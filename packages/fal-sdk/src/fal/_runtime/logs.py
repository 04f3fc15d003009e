"""The runner's output as JSON lines tagged with the request that wrote them.

Once :func:`capture_output` runs, every line written to ``sys.stdout`` or
``sys.stderr`` and every record of the root logger becomes one JSON object on
its own line of the process's real stdout or stderr::

    {"timestamp": "...", "level": "INFO", "message": "...",
     "request_id": "..." | null, "source": "stdout" | "stderr"}

The request id comes from ``current_request_context``, which the serving
middleware sets per request; Starlette copies the context into the worker
thread of a sync endpoint, so prints there are attributed too. Lines printed
before the capture starts (or by a crash that bypasses it) stay plain text;
readers keep them as untagged messages.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from fal._private.app import current_request_context

__all__ = ["JsonLogHandler", "RequestLogStream", "capture_output", "format_line"]


def format_line(message: str, level: str, source: str, attribute: bool = True) -> str:
    """One JSON log line (without the newline) for ``message``."""
    context = current_request_context.get() if attribute else None
    return json.dumps(
        {
            "timestamp": datetime.now(UTC).isoformat(),
            "level": level,
            "message": message,
            "request_id": context.request_id if context is not None else None,
            "source": source,
        }
    )


class RequestLogStream(io.TextIOBase):
    """A text stream that writes each complete line to ``target`` as JSON."""

    def __init__(self, target: TextIO, source: str, level: str) -> None:
        self._target = target
        self._source = source
        self._level = level
        self._lock = threading.Lock()
        # Partial lines, per request, so concurrent requests do not mix.
        self._pending: dict[str | None, str] = {}

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"

    @property
    def buffer(self) -> Any:
        """The underlying binary stream: bytes written there stay untagged."""
        return self._target.buffer

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._target.fileno()

    def write(self, text: str) -> int:
        context = current_request_context.get()
        key = context.request_id if context is not None else None
        with self._lock:
            buffered = self._pending.pop(key, "") + text
            *lines, rest = buffered.split("\n")
            if rest:
                self._pending[key] = rest
            for line in lines:
                self._emit(line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            context = current_request_context.get()
            key = context.request_id if context is not None else None
            rest = self._pending.pop(key, "")
            if rest:
                self._emit(rest)
            self._target.flush()

    def _emit(self, line: str) -> None:
        self._target.write(format_line(line, self._level, self._source) + "\n")
        self._target.flush()


class JsonLogHandler(logging.Handler):
    """A root logging handler writing each record as one JSON line."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self._target = target
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # The server's own records (access lines) belong to no request.
            attribute = not record.name.startswith("uvicorn")
            line = format_line(
                self.format(record), record.levelname, "stderr", attribute
            )
            with self.lock or threading.Lock():
                self._target.write(line + "\n")
                self._target.flush()
        except Exception:
            self.handleError(record)


def capture_output(level: int = logging.INFO) -> None:
    """Route stdout, stderr and the root logger through JSON lines.

    Each stream keeps its own file descriptor; logging goes to stderr.
    """
    out = sys.__stdout__ if sys.__stdout__ is not None else sys.stdout
    err = sys.__stderr__ if sys.__stderr__ is not None else sys.stderr
    sys.stdout = RequestLogStream(out, "stdout", "INFO")
    sys.stderr = RequestLogStream(err, "stderr", "ERROR")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(JsonLogHandler(err))
    root.setLevel(level)
