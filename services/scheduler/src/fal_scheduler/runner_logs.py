"""Reading a runner's log file: JSON lines tagged by the runtime, or plain text.

The runtime (``fal._runtime.logs``) writes each line of the app's stdout,
stderr and logging as ``{"timestamp", "level", "message", "request_id",
"source"}``. Output from before its capture began (an import error, a crash
of the interpreter) is plain text; readers keep it as an untagged line.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["MAX_LOG_BYTES", "parse_log_line", "read_runner_log"]

MAX_LOG_BYTES = 256 * 1024


def parse_log_line(line: str) -> dict[str, Any] | None:
    """A runner log line written by the runtime's capture, None if plain text."""
    if not line.startswith("{"):
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or "message" not in entry:
        return None
    return entry


def read_runner_log(
    path: Path, offset: int, since: float | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The complete lines after byte ``offset`` and the offset after them.

    With ``since`` (a POSIX time), tagged lines older than it are left out.
    """
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            data = log.read(MAX_LOG_BYTES)
    except OSError:
        return [], offset
    # Leave a partial last line for the next read.
    end = data.rfind(b"\n") + 1
    lines = []
    for raw in data[:end].decode(errors="replace").splitlines():
        if not raw.strip():
            continue
        entry = parse_log_line(raw)
        if entry is None:
            entry = {
                "timestamp": "",
                "level": "INFO",
                "message": raw,
                "request_id": None,
                "source": "stdout",
            }
        elif since is not None and _timestamp(entry) < since:
            continue
        lines.append(entry)
    return lines, offset + end


def _timestamp(entry: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(entry.get("timestamp"))).timestamp()
    except ValueError:
        return float("inf")
