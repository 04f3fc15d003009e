"""Filestore multipart upload and download throughput, next to its baselines.

Measures, in the same run and on the same file:

- local backend: a multipart upload into /data through the filestore (10 MiB
  parts sent in parallel by ``fal.upload``) and a streamed download, next to
  raw disk (copying the file, reading it back) in the same directory;
- S3 backend (a moto S3 server this script starts): the same upload and
  download through the filestore, next to plain boto3 (``upload_file`` and
  ``download_file`` with the same part size and concurrency) against the same
  server.

Prints one JSON object; ``--output FILE`` also writes it to a file. Ratios
are filestore throughput over baseline throughput (1.0: as fast).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from fal.upload import DEFAULT_CHUNK_SIZE, DataFileMultipartUpload
from fal_platform.testing import free_port, moto_server

MIB = 1024 * 1024
CONCURRENCY = 10
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=128)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fal-bench-files-") as scratch:
        workdir = Path(scratch)
        source = _random_file(workdir / "source.bin", args.size_mib)
        result = {
            "size_mib": args.size_mib,
            "part_mib": DEFAULT_CHUNK_SIZE // MIB,
            "concurrency": CONCURRENCY,
            "local": _bench_local(workdir, source),
            "s3": _bench_s3(workdir, source),
        }

    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


def _bench_local(workdir: Path, source: Path) -> dict[str, object]:
    root = workdir / "local-store"
    with _filestore(["--root", str(root)]) as url:
        through = _through_filestore(url, source, workdir / "local-download.bin")
    size = source.stat().st_size
    copy_seconds = _timed(lambda: _copy_synced(source, workdir / "disk-copy.bin"))
    read_seconds = _timed(lambda: _read_all(workdir / "disk-copy.bin"))
    baseline = {
        "write_mib_s": _rate(size, copy_seconds),
        "read_mib_s": _rate(size, read_seconds),
    }
    return _report(through, baseline, "raw disk")


def _bench_s3(workdir: Path, source: Path) -> dict[str, object]:
    with moto_server(env=S3_CREDENTIALS) as endpoint:
        bucket = "bench"
        flags = ["--backend", "s3", "--s3-bucket", bucket, "--s3-create-bucket"]
        flags += ["--s3-endpoint-url", endpoint]
        flags += ["--s3-access-key-id", "testing", "--s3-secret-access-key", "testing"]
        with _filestore(flags) as url:
            through = _through_filestore(url, source, workdir / "s3-download.bin")
        baseline = _plain_boto3(endpoint, bucket, source, workdir / "boto3.bin")
    return _report(through, baseline, "plain boto3")


def _through_filestore(url: str, source: Path, target: Path) -> dict[str, float]:
    size = source.stat().st_size
    with httpx.Client(base_url=url, timeout=600) as client:
        upload = DataFileMultipartUpload(
            client, "bench/source.bin", max_concurrency=CONCURRENCY
        )
        upload_seconds = _timed(lambda: upload.upload_file(source))
        download_seconds = _timed(lambda: _download(client, target))
    if target.stat().st_size != size:
        raise RuntimeError(f"Downloaded {target.stat().st_size} of {size} bytes.")
    return {
        "upload_mib_s": _rate(size, upload_seconds),
        "download_mib_s": _rate(size, download_seconds),
    }


def _plain_boto3(
    endpoint: str, bucket: str, source: Path, target: Path
) -> dict[str, float]:
    import boto3
    from boto3.s3.transfer import TransferConfig

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    config = TransferConfig(
        multipart_threshold=DEFAULT_CHUNK_SIZE,
        multipart_chunksize=DEFAULT_CHUNK_SIZE,
        max_concurrency=CONCURRENCY,
    )
    size = source.stat().st_size
    upload_seconds = _timed(
        lambda: client.upload_file(str(source), bucket, "plain.bin", Config=config)
    )
    download_seconds = _timed(
        lambda: client.download_file(bucket, "plain.bin", str(target), Config=config)
    )
    return {
        "write_mib_s": _rate(size, upload_seconds),
        "read_mib_s": _rate(size, download_seconds),
    }


def _report(
    through: dict[str, float], baseline: dict[str, float], name: str
) -> dict[str, object]:
    return {
        "filestore": through,
        "baseline": {"name": name, **baseline},
        "upload_ratio": round(through["upload_mib_s"] / baseline["write_mib_s"], 3),
        "download_ratio": round(through["download_mib_s"] / baseline["read_mib_s"], 3),
    }


# Helpers


def _download(client: httpx.Client, target: Path) -> None:
    with client.stream("GET", "/data/bench/source.bin") as response:
        response.raise_for_status()
        with target.open("wb") as out:
            for chunk in response.iter_bytes(MIB):
                out.write(chunk)


def _copy_synced(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    with target.open("rb+") as out:
        os.fsync(out.fileno())


def _read_all(path: Path) -> None:
    with path.open("rb") as source:
        while source.read(MIB):
            pass


def _random_file(path: Path, size_mib: int) -> Path:
    with path.open("wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MIB))
    return path


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _rate(size: int, seconds: float) -> float:
    return round(size / MIB / seconds, 1)


@contextlib.contextmanager
def _filestore(flags: list[str]) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "fal_filestore", "--port", str(port)]
    process = subprocess.Popen(
        command + flags + ["--log-level", "WARNING"], stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url + "/health")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(url, timeout=1)
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 60 s.")


if __name__ == "__main__":
    main()
