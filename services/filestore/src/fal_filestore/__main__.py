"""Run the filestore: ``python -m fal_filestore --port 7082 --root DIR``.

With ``--backend s3`` blobs go to ``--s3-bucket`` of the S3 API at
``--s3-endpoint-url``; credentials come from ``--s3-access-key-id`` and
``--s3-secret-access-key`` or from boto3's usual places (``AWS_*``
variables, ~/.aws). ``FAL_PLATFORM_INTERNAL_TOKEN`` guards raw blob access.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import uvicorn

from fal_filestore.app import create_app
from fal_filestore.auth import KeyAuthenticator
from fal_filestore.backends import BlobBackend, LocalDirectoryBackend, S3Backend
from fal_filestore.service import Settings

logger = logging.getLogger("fal_filestore")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    settings = Settings(
        kv_max_value_bytes=args.kv_max_value_bytes,
        upload_ttl_seconds=args.upload_ttl,
        allow_private_urls=args.allow_private_urls,
    )
    authenticator = KeyAuthenticator(
        default_owner=args.default_owner,
        internal_token=os.environ.get("FAL_PLATFORM_INTERNAL_TOKEN"),
    )
    app = create_app(
        _backend(args),
        settings=settings,
        authenticator=authenticator,
        public_url=args.public_url,
    )
    logger.info("Filestore listening on %s:%s (%s)", args.host, args.port, args.backend)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def _backend(args: argparse.Namespace) -> BlobBackend:
    if args.backend == "local":
        if args.root is None:
            raise SystemExit("fal-filestore: --root is needed with --backend local.")
        return LocalDirectoryBackend(args.root)
    if not args.s3_bucket:
        raise SystemExit("fal-filestore: --s3-bucket is needed with --backend s3.")
    return S3Backend.connect(
        args.s3_bucket,
        endpoint_url=args.s3_endpoint_url,
        region=args.s3_region,
        access_key_id=args.s3_access_key_id,
        secret_access_key=args.s3_secret_access_key,
        prefix=args.s3_prefix,
        create_bucket=args.s3_create_bucket,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fal-filestore", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7082)
    parser.add_argument("--backend", choices=("local", "s3"), default="local")
    parser.add_argument("--root", type=Path, help="blob directory (local backend)")
    parser.add_argument("--s3-bucket")
    parser.add_argument("--s3-endpoint-url")
    parser.add_argument("--s3-region")
    parser.add_argument("--s3-access-key-id")
    parser.add_argument("--s3-secret-access-key")
    parser.add_argument("--s3-prefix", default="")
    parser.add_argument("--s3-create-bucket", action="store_true")
    parser.add_argument("--public-url", help="base of public file URLs")
    parser.add_argument("--default-owner", default="local")
    parser.add_argument("--kv-max-value-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--upload-ttl", type=float, default=24 * 3600.0)
    parser.add_argument("--allow-private-urls", action="store_true")
    parser.add_argument("--log-level", default="INFO")
    return parser


if __name__ == "__main__":
    main()
