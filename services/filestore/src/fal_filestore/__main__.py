"""Run the filestore: ``python -m fal_filestore --port 7082 --root DIR``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from fal_filestore.app import create_app
from fal_filestore.backends import LocalDirectoryBackend


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fal-filestore", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7082)
    parser.add_argument("--root", type=Path, required=True, help="blob directory")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = create_app(LocalDirectoryBackend(args.root))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
